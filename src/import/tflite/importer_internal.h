// The TFLite -> ir::Graph importer's state, shared by importer.cc (model checks, tensors, values,
// the op loop) and import_ops.cc (one builder per supported op). Not a public header.
#pragma once

#include <string>
#include <vector>

#include "import/tflite/importer.h"

namespace tte::tflite::detail {

class Importer {
 public:
  explicit Importer(const ModelFile& m) : m_(m), g_(m.subgraphs.front()) {}
  Result<ir::Graph> Run();

 private:
  // ---- messages
  std::string Tensor(int t) const;  // "tensor 7 'name'"
  // "m.tflite: op 3 CONV_2D: msg"
  Status OpError(const std::string& msg, StatusCode code = StatusCode::kInvalidArgument) const;
  const tflite::Tensor& T(int t) const { return g_.tensors[static_cast<size_t>(t)]; }
  bool IsConst(int t) const;

  // ---- tensors and values
  // Checks an activation tensor (int8, per-tensor quantization, batch 1, [1,H,W,C] or [1,N], static
  // shape) and returns its shape in tte's layout. `role` names it in messages ("input 0").
  Result<std::vector<int64_t>> ActivationShape(int t, const std::string& role) const;
  Result<ir::Quant> ActivationQuant(int t, const std::string& role) const;
  // The value of a data input (an activation computed before this op).
  Result<int> DataInput(size_t k);
  // The op's single output as a new value; `shape` is what the op computes (in tte's layout),
  // checked against the output tensor.
  Result<int> Output(const std::vector<int64_t>& shape);
  // The constant tensor input k: present, constant, of type `type`, rank `rank`.
  Result<int> ConstInput(size_t k, TensorType type, size_t rank, const std::string& role) const;
  // int8 weights with symmetric per-channel (along `q_dim`, `channels` scales) or per-tensor
  // scales.
  Result<ir::Quant> WeightQuant(int t, int q_dim, int64_t channels) const;
  // int32 bias [channels] (or zeros if input k is absent) as a new constant value.
  Result<int> Bias(size_t k, int64_t channels);
  // Charges `bytes` of constants about to be made against ImportConstantBudget.
  Status ChargeConstant(uint64_t bytes);
  Status SetActivation(Activation a, int y_tensor, ir::Node* n) const;
  Status CheckQuantEqual(int a, int b, const char* why) const;

  // ---- ops (import_ops.cc)
  Status Conv2d();
  Status DepthwiseConv2d();
  Status FullyConnected();
  Status Add();
  Status AveragePool2d();
  Status Mean();
  Status Reshape(bool squeeze);
  Status Pad();
  Status Softmax();
  // Window geometry shared by convs and pooling; fills n->window.
  Status Window(Padding padding, int stride_h, int stride_w, int dil_h, int dil_w, int64_t kh,
                int64_t kw, const std::vector<int64_t>& x, ir::Node* n,
                std::vector<int64_t>* out_hw) const;
  template <typename Options>
  Result<Options> Opts() const;
  int NewNode(ir::Node n);

  const ModelFile& m_;
  const SubGraph& g_;
  ir::Graph graph_;
  std::vector<int> value_of_;  // TFLite tensor -> value id of its activation (-1: none yet)
  uint64_t constant_bytes_ = 0;
  // The op being converted.
  int op_index_ = -1;
  const Operator* op_ = nullptr;
  std::string op_name_;
};

}  // namespace tte::tflite::detail
