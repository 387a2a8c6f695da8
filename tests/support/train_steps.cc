// Training steps for equivalence tests (see train_steps.h).
#include "support/train_steps.h"

#include <gtest/gtest.h>

#include <cstring>

#include "memory/plan_checker.h"
#include "memory/planner.h"
#include "runtime/executor.h"

namespace tte::testing {

StepOutcome Step(const ir::Graph& m, const Scheme& s, TrainOptions opt, const int8_t* image, int label, int steps) {
  opt.num_classes = 10;
  opt.seed = 5;
  auto ct = CompileTraining(m, s, opt);
  EXPECT_TRUE(ct.ok()) << ct.status().ToString();
  Program& P = ct->program;
  auto plan = PlanMemory(&P);  // each variant runs in its own, really reused, planned arena
  EXPECT_TRUE(plan.ok());
  EXPECT_TRUE(CheckPlan(P, *plan).ok());
  int64_t arena = plan->arena_bytes;
  ExecutorOptions eo;
  eo.sgd.lr = 0.05f;
  eo.rng_seed = 99;
  auto e = Executor::Create(&P, arena, eo);
  EXPECT_TRUE(e.ok());
  StepOutcome out;
  for (int k = 0; k < steps; ++k) {
    std::memcpy((*e)->input(), image, static_cast<size_t>(P.tensors[P.input].bytes()));
    (*e)->Step(label);
  }
  out.loss = (*e)->last_loss();
  const float* lg = reinterpret_cast<const float*>((*e)->Data(P.logits));
  out.logits.assign(lg, lg + P.train.num_classes);
  for (size_t i = 0; i < P.tensors.size(); ++i) {
    const TensorInfo& t = P.tensors[i];
    if (t.storage != Storage::kState || t.name.find("_grad") != std::string::npos) continue;
    const uint8_t* d = (*e)->Data(static_cast<int>(i));
    out.state[t.name].assign(d, d + t.bytes());
  }
  return out;
}

void ExpectSame(const StepOutcome& a, const StepOutcome& b, const std::string& what) {
  EXPECT_EQ(0, std::memcmp(&a.loss, &b.loss, 4)) << what << ": loss " << a.loss << " vs " << b.loss;
  ASSERT_EQ(a.logits.size(), b.logits.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * sizeof(float))) << what << ": logits differ";
  ASSERT_EQ(a.state.size(), b.state.size()) << what;
  for (const auto& [name, bytes] : a.state) {
    auto it = b.state.find(name);
    ASSERT_NE(it, b.state.end()) << what << ": " << name;
    EXPECT_EQ(bytes, it->second) << what << ": state " << name << " differs";
  }
}

}  // namespace tte::testing
