// Inference session (see inference.h).
#include "runtime/inference.h"

#include <cstring>

#include "memory/planner.h"

namespace tte {

Result<std::unique_ptr<InferenceSession>> InferenceSession::Create(const ir::Graph& model, bool use_fp_head, bool softmax) {
  std::unique_ptr<InferenceSession> s(new InferenceSession());
  if (use_fp_head && model.fp_head.in == 0)
    return InvalidArgument(model.source + ": has no fp32 head (tte_head): not trained by tte");
  TTE_ASSIGN_OR_RETURN(LayerView view, MakeLayerView(model));
  ForwardOptions opt;
  opt.int8_classifier = !use_fp_head;
  opt.softmax = softmax && !use_fp_head;
  Program& P = s->program_;
  TTE_ASSIGN_OR_RETURN(s->graph_, BuildForward(model, view, opt, &P));
  if (use_fp_head) {
    const ir::FpHead& h = model.fp_head;
    const ir::Value& features = model.value(view.head_input);
    if (h.in != features.numel())
      return InvalidArgument(model.source + ": the fp32 head reads " + std::to_string(h.in) + " features, the classifier " +
                             std::to_string(features.numel()));
    auto flash = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
      TensorInfo t;
      t.name = name;
      t.dtype = DType::kFloat32;
      t.shape = std::move(shape);
      t.storage = Storage::kFlash;
      t.init.resize(v.size() * 4);
      std::memcpy(t.init.data(), v.data(), t.init.size());
      return P.AddTensor(std::move(t));
    };
    P.head = HeadBinding{h.in, h.out, features.quant.zero[0], static_cast<float>(features.quant.scale[0]),
                         flash("head.weight", {h.out, h.in}, h.weight), flash("head.bias", {h.out}, h.bias)};
    AppendHeadForward(&P, s->graph_.features, h.out);
    s->graph_.stages.emplace_back("fc", P.logits);
  }
  s->output_ = P.logits;
  if (opt.softmax && view.softmax_node >= 0)
    s->output_ = s->graph_.tensor_of_value[static_cast<size_t>(model.nodes[static_cast<size_t>(view.softmax_node)].outputs[0])];
  // Stage outputs are read after Run (stages(): `tte infer` dumps, golden tests), so the planner must not
  // reuse their bytes: they are outputs of the program.
  for (const auto& stage : s->graph_.stages) P.tensors[stage.second].is_output = true;
  P.tensors[s->output_].is_output = true;
  TTE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(&s->program_));
  TTE_ASSIGN_OR_RETURN(s->exec_, Executor::Create(&s->program_, plan.arena_bytes));
  return s;
}

void InferenceSession::Run(const int8_t* image) {
  std::memcpy(exec_->input(), image, static_cast<size_t>(input_bytes()));
  exec_->Step();
}

float InferenceSession::logit(int i) const {
  const uint8_t* p = exec_->Data(program_.logits);
  if (fp_logits()) return reinterpret_cast<const float*>(p)[i];
  return static_cast<float>(reinterpret_cast<const int8_t*>(p)[i]);
}

int InferenceSession::Predict() const {
  int best = 0;
  if (output_ != program_.logits) {
    const int8_t* y = output();
    for (int i = 1; i < output_size(); ++i)
      if (y[i] > y[best]) best = i;
    return best;
  }
  for (int i = 1; i < num_classes(); ++i)
    if (logit(i) > logit(best)) best = i;
  return best;
}

const int8_t* InferenceSession::logits() const {
  return reinterpret_cast<const int8_t*>(exec_->Data(program_.logits));
}

}  // namespace tte
