// Program helpers.
#include "compiler/program.h"

namespace tte {

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t TensorInfo::bytes() const {
  if (bits) return (numel() + 7) / 8;
  return numel() * static_cast<int64_t>(DTypeSize(dtype));
}

const char* OpCodeName(OpCode code) {
  switch (code) {
    case OpCode::kConv: return "conv";
    case OpCode::kAdd: return "add";
    case OpCode::kAvgPool: return "avgpool";
    case OpCode::kGatherChannels: return "gather_channels";
    case OpCode::kHeadForward: return "head_forward";
    case OpCode::kLoss: return "softmax_xent";
    case OpCode::kHeadBackward: return "head_backward";
    case OpCode::kAvgPoolBackward: return "avgpool_backward";
    case OpCode::kAddBackward: return "add_backward";
    case OpCode::kMaskScale: return "mask_scale";
    case OpCode::kConvBiasGrad: return "conv_bias_grad";
    case OpCode::kConvBackwardInput: return "conv_backward_input";
    case OpCode::kConvWeightGrad: return "conv_weight_grad";
    case OpCode::kApplyUpdate: return "apply_update";
  }
  return "?";
}

int Program::AddTensor(TensorInfo t) {
  tensors.push_back(std::move(t));
  return static_cast<int>(tensors.size()) - 1;
}

int Program::AddOp(Op op) {
  ops.push_back(std::move(op));
  return static_cast<int>(ops.size()) - 1;
}

}  // namespace tte
