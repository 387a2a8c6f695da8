// Small TFLite int8 models made in memory by tte's own writer, for the importer's tests, the
// bad-file catalogue and the fuzzer's seeds (no third-party data). ModelBuilder assembles a
// ModelFile tensor by tensor; the Tiny* functions build complete valid models of a few KB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "import/tflite/model_file.h"

namespace tte::testing {

class ModelBuilder {
 public:
  explicit ModelBuilder(std::string label = "tiny.tflite");

  // An int8 activation tensor with per-tensor quantization.
  int Activation(const std::string& name, std::vector<int32_t> shape, float scale, int64_t zero);
  // A constant tensor of `type` holding `data` (raw little-endian bytes).
  int Constant(const std::string& name, std::vector<int32_t> shape, tflite::TensorType type,
               std::vector<uint8_t> data, std::vector<float> scales = {}, int32_t q_dim = 0);
  // int8 weights, values from `value(i)` for flat index i; per-channel scales along q_dim.
  int Weights(const std::string& name, std::vector<int32_t> shape, std::vector<float> scales,
              int32_t q_dim, int (*value)(int64_t i));
  int Int32s(const std::string& name, std::vector<int32_t> shape, const std::vector<int32_t>& v);
  int Op(int32_t builtin_code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
         tflite::BuiltinOptions options = std::monostate{});
  void SetIo(int input, int output);

  tflite::ModelFile& model() { return m_; }
  tflite::SubGraph& graph() { return m_.subgraphs[0]; }
  // The finished model as file bytes (writer), and parsed back from them.
  std::vector<uint8_t> Bytes() const;
  tflite::ModelFile Parsed() const;

 private:
  tflite::ModelFile m_;
};

// input [1,8,8,3] -> CONV_2D 3x3/2 SAME RELU6 (8, per-channel) -> DEPTHWISE 3x3 SAME RELU ->
// ADD (with the conv output) RELU -> AVERAGE_POOL_2D 2x2/2 VALID -> RESHAPE [1,32] ->
// FULLY_CONNECTED 4 (per-tensor) -> SOFTMAX. About 2 KB.
ModelBuilder TinyModel();
// input [1,6,5,2] -> PAD (H 1,1; W 0,1) -> DEPTHWISE 3x3 multiplier 2 dilation 2 SAME RELU ->
// CONV_2D 3x3/2 SAME groups 2 (6 out) -> FULLY_CONNECTED 5 over the [1,4,3,6] input directly.
ModelBuilder FeatureModel();
// input [1,5,4,3] -> CONV_2D 1x1 RELU_N1_TO_1 (no bias) -> MEAN over H,W keep_dims ->
// SQUEEZE [1,6] -> FULLY_CONNECTED 3 keep_num_dims (per-channel).
ModelBuilder HeadModel();

// A distinct int8 value for flat index i (the tests find every weight where they expect it).
int PatternValue(int64_t i);

}  // namespace tte::testing
