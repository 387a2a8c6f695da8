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
#include "support/train_steps.h"

namespace tte {
namespace {

using testing::ExpectSame;
using testing::Step;
using testing::StepOutcome;

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
