// Memory optimizations change where bytes live, never the math: one training step (device mode,
// stochastic rounding, QAS) leaves bit-identical parameters, optimizer state and loss whether updates are
// fused (operator reordering) or deferred, whether in-place execution is on or off, and with or without
// the patch-based forward of the frozen prefix.
#include <gtest/gtest.h>

#include <cstring>

#include "compiler/train_compiler.h"
#include "core/npy.h"
#include "memory/plan_checker.h"
#include "memory/planner.h"
#include "model/pkl_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tte {
namespace {

struct StepOutcome {
  std::map<std::string, std::vector<uint8_t>> state;  // by tensor name
  float loss = 0;
  std::vector<float> logits;
};

StepOutcome Step(const ir::Graph& m, const Scheme& s, TrainOptions opt, const int8_t* image, int label, int steps = 2) {
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
  out.logits.assign(lg, lg + 10);
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
  EXPECT_EQ(0, std::memcmp(a.logits.data(), b.logits.data(), 40)) << what << ": logits differ";
  ASSERT_EQ(a.state.size(), b.state.size()) << what;
  for (const auto& [name, bytes] : a.state) {
    auto it = b.state.find(name);
    ASSERT_NE(it, b.state.end()) << what << ": " << name;
    EXPECT_EQ(bytes, it->second) << what << ": state " << name << " differs";
  }
}

class Equivalence : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(Equivalence, ReorderInPlaceAndPatchesGiveIdenticalTraining) {
  const std::string net = GetParam().first, scheme_name = GetParam().second;
  TTE_REQUIRE_SHARED("models/" + net + ".pkl");
  TTE_REQUIRE_SHARED("reference/schemes.json");
  auto m = testing::LoadGraph(testing::SharedPath("models/" + net + ".pkl"));
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), scheme_name, net);
  auto img = ReadNpy(testing::SharedPath("golden/input_fmnist0_int8.npy"));
  ASSERT_TRUE(m.ok() && s.ok() && img.ok());
  TrainOptions base;  // fused, in place, no patches
  StepOutcome ref = Step(*m, *s, base, img->data<int8_t>(), 7);
  TrainOptions o = base;
  o.fuse_updates = false;
  ExpectSame(ref, Step(*m, *s, o, img->data<int8_t>(), 7), "deferred updates (no reordering)");
  o = base;
  o.in_place = false;
  ExpectSame(ref, Step(*m, *s, o, img->data<int8_t>(), 7), "no in-place");
  for (int grid : {2, 3}) {
    o = base;
    o.patch_grid = grid;
    ExpectSame(ref, Step(*m, *s, o, img->data<int8_t>(), 7), "patches " + std::to_string(grid));
  }
  // The comparison can fail: a different rounding stream changes the state.
  o = base;
  o.rounding = TTE_ROUND_NEAREST;
  StepOutcome other = Step(*m, *s, o, img->data<int8_t>(), 7);
  bool any_diff = false;
  for (const auto& [name, bytes] : ref.state) any_diff |= bytes != other.state[name];
  EXPECT_TRUE(any_diff) << "nearest rounding should change some trained value";
}

INSTANTIATE_TEST_SUITE_P(Schemes, Equivalence,
                         ::testing::Values(std::make_pair("mcunet-5fps", "49kb"), std::make_pair("mcunet-5fps", "sparse_100kb"),
                                           std::make_pair("mbv2-w0.35", "99kb")),
                         [](const auto& info) {
                           std::string n = std::string(info.param.first) + "_" + info.param.second;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace tte
