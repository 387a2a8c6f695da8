// ModelBuilder and the small TFLite models of the tests (see tflite_builder.h).
#include "import/tflite_builder.h"

#include <cstdlib>
#include <cstring>

#include "import/tflite/writer.h"

namespace tte::testing {

using tflite::TensorType;

ModelBuilder::ModelBuilder(std::string label) {
  m_.label = std::move(label);
  m_.version = 3;
  m_.description = "tte test model";
  m_.buffers.emplace_back();  // the empty sentinel buffer 0
  m_.subgraphs.emplace_back();
  m_.subgraphs[0].name = "main";
}

int ModelBuilder::Activation(const std::string& name, std::vector<int32_t> shape, float scale,
                             int64_t zero) {
  tflite::Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.type = TensorType::kInt8;
  t.has_quantization = true;
  t.quantization.scale = {scale};
  t.quantization.zero_point = {zero};
  graph().tensors.push_back(std::move(t));
  return static_cast<int>(graph().tensors.size()) - 1;
}

int ModelBuilder::Constant(const std::string& name, std::vector<int32_t> shape, TensorType type,
                           std::vector<uint8_t> data, std::vector<float> scales, int32_t q_dim) {
  return m_.AddConstantTensor(0, name, std::move(shape), type, std::move(data), std::move(scales), q_dim);
}

int ModelBuilder::Weights(const std::string& name, std::vector<int32_t> shape,
                          std::vector<float> scales, int32_t q_dim, int (*value)(int64_t i)) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  std::vector<uint8_t> data(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    data[static_cast<size_t>(i)] = static_cast<uint8_t>(static_cast<int8_t>(value(i)));
  return Constant(name, std::move(shape), TensorType::kInt8, std::move(data), std::move(scales),
                  q_dim);
}

int ModelBuilder::Int32s(const std::string& name, std::vector<int32_t> shape,
                         const std::vector<int32_t>& v) {
  std::vector<uint8_t> data(v.size() * 4);
  if (!v.empty()) std::memcpy(data.data(), v.data(), data.size());
  return Constant(name, std::move(shape), TensorType::kInt32, std::move(data));
}

int ModelBuilder::Op(int32_t builtin_code, std::vector<int32_t> inputs,
                     std::vector<int32_t> outputs, tflite::BuiltinOptions options) {
  uint32_t code_index = 0;
  while (code_index < m_.operator_codes.size() &&
         m_.operator_codes[code_index].builtin_code != builtin_code) {
    ++code_index;
  }
  if (code_index == m_.operator_codes.size()) m_.operator_codes.push_back({builtin_code, "", 1});
  tflite::Operator op;
  op.opcode_index = code_index;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  // The union type codes of TFLite's BuiltinOptions for the options tte knows.
  static constexpr uint8_t kTypes[] = {0, 1, 2, 5, 8, 9, 11, 17, 22, 27, 30};
  op.options_type = kTypes[options.index()];
  op.options = std::move(options);
  graph().operators.push_back(std::move(op));
  return static_cast<int>(graph().operators.size()) - 1;
}

void ModelBuilder::SetIo(int input, int output) {
  graph().inputs = {input};
  graph().outputs = {output};
}

std::vector<uint8_t> ModelBuilder::Bytes() const {
  auto bytes = tflite::WriteModelFile(m_);
  if (!bytes.ok()) {
    std::fprintf(stderr, "ModelBuilder: %s\n", bytes.status().ToString().c_str());
    std::abort();
  }
  return *bytes;
}

tflite::ModelFile ModelBuilder::Parsed() const {
  auto m = tflite::ParseModelFile(Bytes(), m_.label);
  if (!m.ok()) {
    std::fprintf(stderr, "ModelBuilder: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return std::move(m).value();
}

int PatternValue(int64_t i) { return static_cast<int>((i * 37 + 11) % 255) - 127; }

namespace {
int SmallValue(int64_t i) { return static_cast<int>((i * 7 + 3) % 9) - 4; }
std::vector<float> Scales(int n, float base) {
  std::vector<float> s;
  for (int i = 0; i < n; ++i) s.push_back(base * (1.0f + 0.125f * static_cast<float>(i)));
  return s;
}
std::vector<int32_t> Biases(int n) {
  std::vector<int32_t> b;
  for (int i = 0; i < n; ++i) b.push_back(100 * i - 250);
  return b;
}
}  // namespace

ModelBuilder TinyModel() {
  using tflite::Activation;
  using tflite::Padding;
  ModelBuilder b("tiny.tflite");
  const int x = b.Activation("input", {1, 8, 8, 3}, 1.0f / 255, -128);
  const int w1 = b.Weights("conv/w", {8, 3, 3, 3}, Scales(8, 0.02f), 0, SmallValue);
  const int b1 = b.Int32s("conv/b", {8}, Biases(8));
  const int y1 = b.Activation("conv/out", {1, 4, 4, 8}, 0.05f, -128);
  b.Op(tflite::kConv2d, {x, w1, b1}, {y1},
       tflite::Conv2dOptions{Padding::kSame, 2, 2, Activation::kRelu6});
  const int w2 = b.Weights("dw/w", {1, 3, 3, 8}, Scales(8, 0.03f), 3, SmallValue);
  const int b2 = b.Int32s("dw/b", {8}, Biases(8));
  const int y2 = b.Activation("dw/out", {1, 4, 4, 8}, 0.04f, -128);
  b.Op(tflite::kDepthwiseConv2d, {y1, w2, b2}, {y2},
       tflite::DepthwiseConv2dOptions{Padding::kSame, 1, 1, 1, Activation::kRelu});
  const int y3 = b.Activation("add/out", {1, 4, 4, 8}, 0.06f, -120);
  b.Op(tflite::kAdd, {y1, y2}, {y3}, tflite::AddOptions{Activation::kRelu});
  const int y4 = b.Activation("pool/out", {1, 2, 2, 8}, 0.06f, -120);
  b.Op(tflite::kAveragePool2d, {y3}, {y4}, tflite::Pool2dOptions{Padding::kValid, 2, 2, 2, 2});
  const int shape = b.Int32s("reshape/shape", {2}, {1, 32});
  const int y5 = b.Activation("flat", {1, 32}, 0.06f, -120);
  b.Op(tflite::kReshape, {y4, shape}, {y5}, tflite::ReshapeOptions{{1, 32}});
  const int w6 = b.Weights("fc/w", {4, 32}, {0.01f}, 0, SmallValue);
  const int b6 = b.Int32s("fc/b", {4}, Biases(4));
  const int y6 = b.Activation("logits", {1, 4}, 0.1f, 3);
  b.Op(tflite::kFullyConnected, {y5, w6, b6}, {y6}, tflite::FullyConnectedOptions{});
  const int y7 = b.Activation("probs", {1, 4}, 1.0f / 256, -128);
  b.Op(tflite::kSoftmax, {y6}, {y7}, tflite::SoftmaxOptions{1.0f});
  b.SetIo(x, y7);
  return b;
}

ModelBuilder FeatureModel() {
  using tflite::Activation;
  using tflite::Padding;
  ModelBuilder b("feature.tflite");
  const int x = b.Activation("input", {1, 6, 5, 2}, 0.5f, 10);
  const int pads = b.Int32s("pad/paddings", {4, 2}, {0, 0, 1, 1, 0, 1, 0, 0});
  const int y1 = b.Activation("pad/out", {1, 8, 6, 2}, 0.5f, 10);
  b.Op(tflite::kPad, {x, pads}, {y1}, tflite::PadOptions{});
  const int w2 = b.Weights("dw/w", {1, 3, 3, 4}, Scales(4, 0.02f), 3, PatternValue);
  const int b2 = b.Int32s("dw/b", {4}, Biases(4));
  const int y2 = b.Activation("dw/out", {1, 8, 6, 4}, 0.3f, -128);
  tflite::DepthwiseConv2dOptions dw{Padding::kSame, 1, 1, 2, Activation::kRelu, 2, 2};
  b.Op(tflite::kDepthwiseConv2d, {y1, w2, b2}, {y2}, dw);
  const int w3 = b.Weights("gconv/w", {6, 3, 3, 2}, Scales(6, 0.01f), 0, PatternValue);
  const int b3 = b.Int32s("gconv/b", {6}, Biases(6));
  const int y3 = b.Activation("gconv/out", {1, 4, 3, 6}, 0.2f, 5);
  b.Op(tflite::kConv2d, {y2, w3, b3}, {y3},
       tflite::Conv2dOptions{Padding::kSame, 2, 2, Activation::kNone});
  const int w4 = b.Weights("fc/w", {5, 72}, Scales(5, 0.004f), 0, PatternValue);
  const int b4 = b.Int32s("fc/b", {5}, Biases(5));
  const int y4 = b.Activation("fc/out", {1, 5}, 0.25f, -7);
  b.Op(tflite::kFullyConnected, {y3, w4, b4}, {y4}, tflite::FullyConnectedOptions{});
  b.SetIo(x, y4);
  return b;
}

ModelBuilder HeadModel() {
  using tflite::Activation;
  using tflite::Padding;
  ModelBuilder b("head.tflite");
  const int x = b.Activation("input", {1, 5, 4, 3}, 0.1f, 0);
  const int w1 = b.Weights("conv/w", {6, 1, 1, 3}, Scales(6, 0.05f), 0, SmallValue);
  const int y1 = b.Activation("conv/out", {1, 5, 4, 6}, 0.01f, 2);
  b.Op(tflite::kConv2d, {x, w1, -1}, {y1},
       tflite::Conv2dOptions{Padding::kValid, 1, 1, Activation::kReluN1To1});
  const int axes = b.Int32s("mean/axes", {2}, {1, 2});
  const int y2 = b.Activation("mean/out", {1, 1, 1, 6}, 0.008f, 1);
  b.Op(tflite::kMean, {y1, axes}, {y2}, tflite::ReducerOptions{true});
  const int y3 = b.Activation("squeeze/out", {1, 6}, 0.008f, 1);
  b.Op(tflite::kSqueeze, {y2}, {y3}, tflite::SqueezeOptions{{1, 2}});
  const int w4 = b.Weights("fc/w", {3, 6}, Scales(3, 0.02f), 0, SmallValue);
  const int b4 = b.Int32s("fc/b", {3}, Biases(3));
  const int y4 = b.Activation("fc/out", {1, 3}, 0.05f, 0);
  tflite::FullyConnectedOptions fc;
  fc.keep_num_dims = true;
  b.Op(tflite::kFullyConnected, {y3, w4, b4}, {y4}, fc);
  b.SetIo(x, y4);
  return b;
}

}  // namespace tte::testing
