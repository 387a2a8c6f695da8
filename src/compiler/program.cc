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
    case OpCode::kMean: return "mean";
    case OpCode::kPad: return "pad";
    case OpCode::kReshape: return "reshape";
    case OpCode::kSoftmax: return "softmax";
    case OpCode::kGatherChannels: return "gather_channels";
    case OpCode::kHeadForward: return "head_forward";
    case OpCode::kLoss: return "softmax_xent";
    case OpCode::kHeadBackward: return "head_backward";
    case OpCode::kAvgPoolBackward: return "avgpool_backward";
    case OpCode::kMeanBackward: return "mean_backward";
    case OpCode::kPadBackward: return "pad_backward";
    case OpCode::kReshapeBackward: return "reshape_backward";
    case OpCode::kAccumulate: return "accumulate";
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

std::vector<int*> TensorRefs(ConvBinding& b) {
  return {&b.w_frozen, &b.w_train, &b.slot, &b.bias_i32, &b.bias_f32, &b.eff, &b.mult, &b.shift, &b.sel, &b.saved_sel,
          &b.qas_w, &b.qas_b, &b.w_master, &b.w_mom, &b.b_mom, &b.grad_w, &b.grad_b};
}

std::vector<int*> TensorRefs(HeadBinding& h) { return {&h.W, &h.b, &h.mW, &h.mb, &h.gW, &h.gb}; }

template <typename B>
std::vector<int> Ids(const B& b) {
  B copy = b;
  std::vector<int> out;
  for (int* p : TensorRefs(copy)) out.push_back(*p);
  return out;
}

std::vector<int> TensorIds(const ConvBinding& b) { return Ids(b); }
std::vector<int> TensorIds(const HeadBinding& h) { return Ids(h); }

int AliasRoot(const Program& p, int t) {
  while (t >= 0 && p.tensors[t].alias_of >= 0) t = p.tensors[t].alias_of;
  return t;
}

void RemoveUnusedTensors(Program* prog) {
  const size_t n = prog->tensors.size();
  std::vector<bool> used(n, false);
  auto mark = [&](int id) {
    if (id >= 0) used[id] = true;
  };
  for (const Op& op : prog->ops) {
    for (int id : op.ins) mark(id);
    for (int id : op.outs) mark(id);
  }
  for (const ConvBinding& b : prog->convs)
    for (int id : TensorIds(b)) mark(id);
  for (int id : TensorIds(prog->head)) mark(id);
  mark(prog->input);
  mark(prog->logits);
  mark(prog->loss);
  std::vector<int> remap(n, -1);
  std::vector<TensorInfo> kept;
  for (size_t i = 0; i < n; ++i)
    if (used[i]) {
      remap[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(prog->tensors[i]));
    }
  auto fix = [&](int& id) {
    if (id >= 0) id = remap[id];
  };
  for (TensorInfo& t : kept) fix(t.alias_of);
  for (Op& op : prog->ops) {
    for (int& id : op.ins) fix(id);
    for (int& id : op.outs) fix(id);
  }
  for (ConvBinding& b : prog->convs)
    for (int* p : TensorRefs(b)) fix(*p);
  for (int* p : TensorRefs(prog->head)) fix(*p);
  fix(prog->input);
  fix(prog->logits);
  fix(prog->loss);
  prog->tensors = std::move(kept);
}

}  // namespace tte
