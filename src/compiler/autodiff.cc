// Reverse-mode autodiff with a rule table (see autodiff.h).
#include "compiler/autodiff.h"

#include <functional>
#include <map>

namespace tte {
namespace {

class Autodiff {
 public:
  Autodiff(const AutodiffInputs& in, Program* prog) : in_(in), prog_(prog), grad_(prog->tensors.size(), -1) {}

  Status Run();

 private:
  using Rule = std::function<Status(Autodiff&, const Op&)>;
  static const std::map<OpCode, Rule>& Rules();

  bool RequiresGrad(int t) const { return t >= 0 && t < static_cast<int>(in_.requires_grad.size()) && in_.requires_grad[t]; }

  int NewGrad(int value, const std::string& suffix = "") {
    TensorInfo g;
    g.name = "g:" + prog_->tensors[value].name + suffix;
    g.dtype = DType::kFloat32;
    g.shape = prog_->tensors[value].shape;
    return prog_->AddTensor(g);
  }
  // The buffer receiving a gradient contribution to `value`, and whether it must accumulate.
  std::pair<int, bool> Contribution(int value) {
    if (grad_[value] >= 0) return {grad_[value], !in_.debug_overwrite_fanout};
    grad_[value] = NewGrad(value);
    return {grad_[value], false};
  }
  Op& Emit(OpCode code, std::vector<int> ins, std::vector<int> outs, const std::string& note) {
    Op op(code);
    op.phase = Phase::kBackward;
    op.ins = std::move(ins);
    op.outs = std::move(outs);
    op.note = note;
    op.fused_update = in_.fused;
    prog_->AddOp(op);
    return prog_->ops.back();
  }
  // For kernels that overwrite their output: the buffer to write `value`'s contribution into. When the value
  // already has a gradient, the contribution goes to a fresh buffer that Finish() adds to it.
  int WriteTarget(int value) {
    pending_ = -1;
    if (grad_[value] < 0) return grad_[value] = NewGrad(value);
    pending_ = value;
    return pending_buf_ = NewGrad(value, "@contribution");
  }
  void Finish() {
    if (pending_ < 0) return;
    Emit(OpCode::kAccumulate, {pending_buf_}, {grad_[pending_]}, "add this consumer's contribution to the fan-out gradient");
    pending_ = -1;
  }

  // ---- rules, one per forward op
  Status HeadRule(const Op& fwd);
  Status AddRule(const Op& fwd);
  Status ConvRule(const Op& fwd);
  Status UnaryRule(const Op& fwd, OpCode backward, const char* note);  // pool, mean, pad, reshape

  const AutodiffInputs& in_;
  Program* prog_;
  std::vector<int> grad_;  // by forward tensor id
  int pending_ = -1, pending_buf_ = -1;
};

const std::map<OpCode, Autodiff::Rule>& Autodiff::Rules() {
  static const std::map<OpCode, Rule> kRules = {
      {OpCode::kHeadForward, [](Autodiff& a, const Op& op) { return a.HeadRule(op); }},
      {OpCode::kAvgPool, [](Autodiff& a, const Op& op) { return a.UnaryRule(op, OpCode::kAvgPoolBackward, "average pool: g / count to each window's inputs"); }},
      {OpCode::kMean, [](Autodiff& a, const Op& op) { return a.UnaryRule(op, OpCode::kMeanBackward, "mean: g * s_x / (H*W s_y) broadcast"); }},
      {OpCode::kPad, [](Autodiff& a, const Op& op) { return a.UnaryRule(op, OpCode::kPadBackward, "pad: crop the gradient"); }},
      {OpCode::kReshape, [](Autodiff& a, const Op& op) { return a.UnaryRule(op, OpCode::kReshapeBackward, "reshape: move the gradient back"); }},
      {OpCode::kAdd, [](Autodiff& a, const Op& op) { return a.AddRule(op); }},
      {OpCode::kConv, [](Autodiff& a, const Op& op) { return a.ConvRule(op); }},
      // Saving channels for backward is a copy outside the differentiated function.
      {OpCode::kGatherChannels, [](Autodiff&, const Op&) { return Status::Ok(); }},
  };
  return kRules;
}

Status Autodiff::HeadRule(const Op& fwd) {
  // loss = softmax_xent(logits, label); dlogits = softmax - onehot
  Program& P = *prog_;
  TensorInfo dl;
  dl.name = "g:logits";
  dl.dtype = DType::kFloat32;
  dl.shape = P.tensors[in_.logits].shape;
  int dlogits = P.AddTensor(dl);
  TensorInfo lt;
  lt.name = "loss";
  lt.dtype = DType::kFloat32;
  lt.shape = {1};
  lt.is_output = true;
  P.loss = P.AddTensor(lt);
  Op loss(OpCode::kLoss);
  loss.phase = Phase::kLoss;
  loss.ins = {in_.logits};
  loss.outs = {dlogits, P.loss};
  loss.note = "softmax cross-entropy; dlogits = softmax - onehot(label)";
  P.AddOp(loss);
  // dfeatures = s_x W^T dlogits (with the old W), then the head's own update
  int features = fwd.ins[0];
  std::vector<int> outs;
  if (RequiresGrad(features)) outs.push_back(grad_[features] = NewGrad(features));
  Emit(OpCode::kHeadBackward, {features, dlogits}, outs,
       in_.fused ? "fp32 head: input gradient with the old W, then SGD on W and b" : "fp32 head: input gradient, W/b gradients into buffers");
  return Status::Ok();
}

Status Autodiff::UnaryRule(const Op& fwd, OpCode backward, const char* note) {
  const int x = fwd.ins[0], y = fwd.outs[0];
  if (grad_[y] < 0 || !RequiresGrad(x)) return Status::Ok();
  if (fwd.outs.size() > 1) {  // clamp mask (pools with a fused activation, a saturating mean): applied first, in place
    Emit(OpCode::kMaskScale, {grad_[y], fwd.outs[1]}, {grad_[y]}, "clamp mask, in place");
  }
  const int gx = WriteTarget(x);
  Op& op = Emit(backward, {grad_[y]}, {gx}, note);
  op.aux = fwd.aux;
  Finish();
  return Status::Ok();
}

Status Autodiff::AddRule(const Op& fwd) {
  const int y = fwd.outs[0];
  const int mask = fwd.outs.size() > 1 ? fwd.outs[1] : -1;
  if (grad_[y] < 0) return Status::Ok();
  const int g = grad_[y];
  // The kernel writes one input's gradient in place over g (g has no other reader) and adds or writes the
  // other's into its buffer. The in-place side should be an input without a gradient yet.
  int first = fwd.ins[0], second = fwd.ins[1];
  int aux = fwd.aux;
  const bool fresh1 = RequiresGrad(first) && grad_[first] < 0, fresh2 = RequiresGrad(second) && grad_[second] < 0;
  if (!fresh2 && fresh1) {
    std::swap(first, second);
    AddBinding swapped = prog_->adds[static_cast<size_t>(aux)];
    std::swap(swapped.z1, swapped.z2);
    std::swap(swapped.s1, swapped.s2);
    std::swap(swapped.s1d, swapped.s2d);
    aux = static_cast<int>(prog_->adds.size());
    prog_->adds.push_back(swapped);
  }
  int gx1 = -1;
  bool acc = false;
  if (RequiresGrad(first)) std::tie(gx1, acc) = Contribution(first);
  const bool second_accumulates = RequiresGrad(second) && grad_[second] >= 0;
  if (RequiresGrad(second) && !second_accumulates) grad_[second] = g;
  std::vector<int> ins = {g};
  if (mask >= 0) ins.push_back(mask);
  Op& op = Emit(OpCode::kAddBackward, ins, {gx1, g},
                std::string("clamp mask, then g*s1/sy to the first input") + (acc ? " (accumulated)" : "") +
                    "; g*s2/sy in place for the second");
  op.aux = aux;
  op.accumulate = acc;
  prog_->tensors[g].alias_reason = "add_backward writes the second input's gradient in place";
  if (second_accumulates)
    Emit(OpCode::kAccumulate, {g}, {grad_[second]}, "add this consumer's contribution to the fan-out gradient");
  return Status::Ok();
}

Status Autodiff::ConvRule(const Op& fwd) {
  Program& P = *prog_;
  int x = fwd.ins[0], y = fwd.outs[0];
  int mask = fwd.outs.size() > 1 ? fwd.outs[1] : -1;
  if (grad_[y] < 0) return Status::Ok();
  const ConvBinding& b = P.convs[fwd.conv];
  int g = grad_[y];
  std::vector<int> ins = {g};
  if (mask >= 0) ins.push_back(mask);
  Op& ms = Emit(OpCode::kMaskScale, ins, {g}, "clamp mask and per-channel effective scale, in place");
  ms.conv = fwd.conv;
  if (b.train_bias) {
    Op& op = Emit(OpCode::kConvBiasGrad, {g}, {}, in_.fused ? "bias gradient = channel sums, QAS-SGD at once" : "bias gradient into its buffer");
    op.conv = fwd.conv;
  }
  if (RequiresGrad(x)) {
    auto [dx, acc] = Contribution(x);
    Op& op = Emit(OpCode::kConvBackwardInput, {g}, {dx},
                  std::string("transposed conv with the current (not yet updated) int8 weights") +
                      (acc ? ", accumulated into the fan-out gradient" : ""));
    op.conv = fwd.conv;
    op.accumulate = acc;
  }
  if (b.train_weight) {
    int xs = in_.saved_input[fwd.conv];
    if (xs < 0) return Internal("autodiff: conv " + b.name + " trains weights but saved no input");
    Op& op = Emit(OpCode::kConvWeightGrad, {g, xs}, {},
                  in_.fused ? "weight gradient of " + std::to_string(b.n_train) + " channels, each element applied at once (no buffer)"
                            : "weight gradient of " + std::to_string(b.n_train) + " channels into its buffer");
    op.conv = fwd.conv;
  }
  return Status::Ok();
}

Status Autodiff::Run() {
  // Forward ops in reverse order. The head rule also emits the loss.
  const size_t n_fwd = prog_->ops.size();
  for (size_t i = n_fwd; i-- > 0;) {
    const Op fwd = prog_->ops[i];  // copy: Emit() appends to ops
    if (fwd.phase != Phase::kForward) continue;
    auto it = Rules().find(fwd.code);
    if (it == Rules().end()) return Internal(std::string("autodiff: no gradient rule for op ") + OpCodeName(fwd.code));
    grad_.resize(prog_->tensors.size(), -1);
    TTE_RETURN_IF_ERROR(it->second(*this, fwd));
    grad_.resize(prog_->tensors.size(), -1);
  }
  return Status::Ok();
}

}  // namespace

Status AppendBackward(const AutodiffInputs& in, Program* prog) {
  Autodiff a(in, prog);
  return a.Run();
}

}  // namespace tte
