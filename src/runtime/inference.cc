// Inference session (see inference.h).
#include "runtime/inference.h"

#include <cstring>

#include "memory/naive_plan.h"

namespace tte {

Result<std::unique_ptr<InferenceSession>> InferenceSession::Create(const Model& model, int resolution) {
  std::unique_ptr<InferenceSession> s(new InferenceSession());
  ForwardOptions opt;
  opt.resolution = resolution;
  opt.int8_classifier = true;
  TTE_ASSIGN_OR_RETURN(s->graph_, BuildForward(model, opt, &s->program_));
  int64_t arena = PlanNaive(&s->program_);
  TTE_ASSIGN_OR_RETURN(s->exec_, Executor::Create(&s->program_, arena));
  return s;
}

void InferenceSession::Run(const int8_t* image) {
  std::memcpy(exec_->input(), image, static_cast<size_t>(input_bytes()));
  exec_->Step();
}

const int8_t* InferenceSession::logits() const {
  return reinterpret_cast<const int8_t*>(exec_->Data(program_.logits));
}

}  // namespace tte
