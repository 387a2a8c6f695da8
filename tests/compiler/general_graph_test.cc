// The training compiler on graphs that are not MCUNetV3 chains (built by tests/support/graph_builder.h): values
// consumed by several convs and adds accumulate their gradients whatever the processing order, and the memory
// rewrites (operator reordering, in-place execution) still change nothing but where bytes live.
#include <gtest/gtest.h>

#include <random>

#include "compiler/train_compiler.h"
#include "memory/plan_checker.h"
#include "memory/planner.h"
#include "support/graph_builder.h"
#include "support/train_steps.h"

namespace tte {
namespace {

using testing::GraphBuilder;

// v = conv0(x); a = convA(v); b = convB(v)  (v has two conv consumers)
// t = add(a, b); u = add(t, b)               (b: an add consumer processed before another add consumer)
// w = add(u, v)                               (v: an add consumer too)
// logits = fc(pool(w))
ir::Graph FanOutGraph() {
  GraphBuilder g(ir::Requant::kReferenceFp32, {3, 10, 10}, 11);
  ir::Window2d k3;
  k3.kh = k3.kw = 3;
  k3.pad_t = k3.pad_b = k3.pad_l = k3.pad_r = 1;
  const int v = g.Conv(g.input(), 6, k3);
  const int a = g.Conv(v, 6, k3);
  const int b = g.Conv(v, 6, {});
  const int t = g.Add(a, b);
  const int u = g.Add(t, b);
  const int w = g.Add(u, v);
  return g.Finish(g.Fc(g.GlobalPool(w), 4));
}

int Count(const Program& P, OpCode code, bool accumulating = false) {
  int n = 0;
  for (const Op& op : P.ops) n += op.code == code && (!accumulating || op.accumulate);
  return n;
}

TEST(GeneralGraphs, FanOutGradientsAccumulateInEveryRule) {
  ir::Graph g = FanOutGraph();
  auto full = BuiltinScheme("full");
  ASSERT_TRUE(full.ok());
  TrainOptions opt;
  opt.num_classes = 4;
  auto ct = CompileTraining(g, *full, opt);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  const Program& P = ct->program;
  EXPECT_EQ(ct->view.layers.size(), 3u);  // conv0, convA, convB; the fc is the classifier
  // v: from convA, convB and the last add; b: from two adds (t = add(a, b) takes the swapped in-place slot).
  EXPECT_GE(Count(P, OpCode::kConvBackwardInput, true) + Count(P, OpCode::kAddBackward, true) + Count(P, OpCode::kAccumulate), 3)
      << ProgramToText(P);
  Program copy = P;
  auto plan = PlanMemory(&copy);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(CheckPlan(copy, *plan).ok());
}

TEST(GeneralGraphs, ReorderingAndInPlaceChangeNothing) {
  ir::Graph g = FanOutGraph();
  auto full = BuiltinScheme("full");
  ASSERT_TRUE(full.ok());
  std::vector<int8_t> image(3 * 10 * 10);
  std::mt19937 rng(3);
  for (int8_t& p : image) p = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  TrainOptions base;
  const auto ref = testing::Step(g, *full, base, image.data(), 2);
  TrainOptions deferred = base;
  deferred.fuse_updates = false;
  testing::ExpectSame(ref, testing::Step(g, *full, deferred, image.data(), 2), "deferred updates");
  TrainOptions no_inplace = base;
  no_inplace.in_place = false;
  testing::ExpectSame(ref, testing::Step(g, *full, no_inplace, image.data(), 2), "no in-place");
  // Overwriting instead of accumulating fan-out gradients (the reference compiler's defect) must change the result.
  TrainOptions overwrite = base;
  overwrite.debug_overwrite_fanout = true;
  const auto bad = testing::Step(g, *full, overwrite, image.data(), 2);
  EXPECT_NE(ref.state, bad.state) << "the fan-out accumulation has no effect: the test cannot detect its loss";
}

// Grouped (non-depthwise) convs train all their weights: the slice is the whole [cout][cin/groups][kk] tensor.
// Fused and deferred updates, in place or not, master or device storage agree; the weights move.
TEST(GeneralGraphs, GroupedConvWeightsTrain) {
  GraphBuilder b(ir::Requant::kTfliteInteger, {4, 8, 8}, 12);
  ir::Window2d k3;
  k3.kh = k3.kw = 3;
  k3.pad_t = k3.pad_b = k3.pad_l = k3.pad_r = 1;
  const int x = b.Conv(b.input(), 6, k3);
  const int y = b.Conv(x, 8, k3, /*groups=*/2);
  ir::Graph g = b.Finish(b.Fc(b.GlobalPool(b.Conv(y, 6, {}, /*groups=*/2)), 4));
  auto full = BuiltinScheme("full");
  ASSERT_TRUE(full.ok());
  std::vector<int8_t> image(4 * 8 * 8);
  std::mt19937 rng(8);
  for (int8_t& p : image) p = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  for (WeightStore store : {WeightStore::kDevice, WeightStore::kMaster}) {
    TrainOptions base;
    base.num_classes = 4;
    base.store = store;
    if (store == WeightStore::kMaster) g.requant = ir::Requant::kReferenceFp32;  // TFLite requant needs int32 biases
    const auto start = testing::Step(g, *full, base, image.data(), 1, 0);
    const auto ref = testing::Step(g, *full, base, image.data(), 1);
    TrainOptions deferred = base;
    deferred.fuse_updates = false;
    testing::ExpectSame(ref, testing::Step(g, *full, deferred, image.data(), 1), "deferred updates");
    TrainOptions no_inplace = base;
    no_inplace.in_place = false;
    testing::ExpectSame(ref, testing::Step(g, *full, no_inplace, image.data(), 1), "no in-place");
    int moved = 0;
    for (const auto& [name, bytes] : ref.state)
      if (name.find("weight") != std::string::npos && start.state.count(name) && start.state.at(name) != bytes) ++moved;
    EXPECT_GE(moved, 3) << "every conv's weights (two of them grouped) should move";
  }
}

}  // namespace
}  // namespace tte
