// CheckPlan as an oracle: it catches corrupted plans with messages that name both tensors, the op and
// the byte ranges, and it accepts the planner's plans of the real training programs.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>

#include "compiler/train_compiler.h"
#include "memory/naive_plan.h"
#include "memory/plan_checker.h"
#include "memory/planner.h"
#include "model/pkl_io.h"
#include "program_builder.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tte {
namespace {

using testing::ProgramBuilder;

bool Has(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

TEST(MemoryPlanCheck, OverlapOfLiveTensorsNamesBothTensorsTheOpAndTheRanges) {
  ProgramBuilder pb;
  const int a = pb.Input("act_a", 64), b = pb.Tensor("act_b", 32), c = pb.Output("act_c", 16);
  pb.Op({a}, {b});
  pb.Op({b}, {c});
  Program& p = pb.program();
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(CheckPlan(p, *plan).ok());
  // Move act_b into the middle of act_a while both are live at op 0.
  plan->offsets[b] = 16;
  p.tensors[b].offset = 16;
  const Status st = CheckPlan(p, *plan);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Has(st, "'act_a'")) << st.ToString();
  EXPECT_TRUE(Has(st, "'act_b'")) << st.ToString();
  EXPECT_TRUE(Has(st, "op #0")) << st.ToString();
  EXPECT_TRUE(Has(st, "[16, 48)")) << st.ToString();
  EXPECT_TRUE(Has(st, "[" + std::to_string(plan->offsets[a]) + ", ")) << st.ToString();
}

TEST(MemoryPlanCheck, TensorsLiveAtDifferentOpsMayShareBytes) {
  ProgramBuilder pb;
  const int a = pb.Input("a", 64), b = pb.Tensor("b", 64), c = pb.Output("c", 64);
  pb.Op({a}, {b});
  pb.Op({b}, {c});
  Program& p = pb.program();
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(p.tensors[a].offset, p.tensors[c].offset);  // a is dead when c is written
  EXPECT_TRUE(CheckPlan(p, *plan).ok());
}

TEST(MemoryPlanCheck, MisalignedOutOfArenaUnplacedAndSplitAliasAreCaught) {
  ProgramBuilder pb;
  const int a = pb.Input("a", 64), b = pb.Tensor("b", 64), c = pb.Output("c", 64);
  pb.Alias(b, a);
  pb.Op({a}, {b});
  pb.Op({b}, {c});
  Program& p = pb.program();
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(CheckPlan(p, *plan).ok());
  for (int t : {a, b, c}) p.tensors[t].offset = -1;  // check the plan's offsets only

  MemoryPlan bad = *plan;
  bad.offsets[c] += 4;
  EXPECT_TRUE(Has(CheckPlan(p, bad), "not aligned")) << CheckPlan(p, bad).ToString();
  bad = *plan;
  bad.arena_bytes -= 8;
  EXPECT_TRUE(Has(CheckPlan(p, bad), "outside the")) << CheckPlan(p, bad).ToString();
  bad = *plan;
  bad.offsets[c] = -1;
  EXPECT_TRUE(Has(CheckPlan(p, bad), "has no offset")) << CheckPlan(p, bad).ToString();
  bad = *plan;
  bad.offsets[b] = bad.offsets[c];
  EXPECT_TRUE(Has(CheckPlan(p, bad), "must share one offset")) << CheckPlan(p, bad).ToString();
}

TEST(MemoryPlanCheck, ProgramOffsetsThatDisagreeWithThePlanAreCaught) {
  ProgramBuilder pb;
  const int a = pb.Input("a", 64), b = pb.Output("b", 64);
  pb.Op({a}, {b});
  Program& p = pb.program();
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  p.tensors[b].offset += 8;
  EXPECT_TRUE(Has(CheckPlan(p, *plan), "in the program but")) << CheckPlan(p, *plan).ToString();
}

// ---- real training programs ----

struct RealCase {
  const char* model;
  const char* scheme;  // built-in name, or an entry of ../shared/reference/schemes.json
  bool fused;
};

void PrintTo(const RealCase& c, std::ostream* os) {
  *os << c.model << " / " << c.scheme << (c.fused ? " (reordered)" : " (no reordering)");
}

std::string CaseName(const ::testing::TestParamInfo<RealCase>& info) {
  std::string s = std::string(info.param.model) + "_" + info.param.scheme + (info.param.fused ? "" : "_unfused");
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

class MemoryRealPrograms : public ::testing::TestWithParam<RealCase> {
 protected:
  // Compiles the case; skips visibly without ../shared.
  void Compile() {
    const RealCase c = GetParam();
    const std::string rel = std::string("models/") + c.model + ".pkl";
    if (testing::SharedPath(rel).empty()) GTEST_SKIP() << "SKIPPED: ../shared/" << rel << " not found";
    auto m = testing::LoadGraph(testing::SharedPath(rel));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    Result<Scheme> s = BuiltinScheme(c.scheme);
    if (!s.ok()) {
      if (testing::SharedPath("reference/schemes.json").empty()) GTEST_SKIP() << "SKIPPED: no schemes.json";
      s = LoadScheme(testing::SharedPath("reference/schemes.json"), c.scheme, c.model);
    }
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    TrainOptions opt;
    opt.fuse_updates = c.fused;
    auto ct = CompileTraining(model_, *s, opt);
    ASSERT_TRUE(ct.ok()) << ct.status().ToString();
    prog_ = std::move(ct->program);
  }
  ir::Graph model_;
  Program prog_;
};

TEST_P(MemoryRealPrograms, PlanPassesTheCheckerAndIsNearTheLowerBound) {
  Compile();
  if (IsSkipped() || HasFatalFailure()) return;
  auto plan = PlanMemory(&prog_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const Status st = CheckPlan(prog_, *plan);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE(plan->arena_bytes, plan->lower_bound_bytes);
  EXPECT_LE(plan->ratio(), 1.05) << "arena " << plan->arena_bytes << " lower bound " << plan->lower_bound_bytes;
  EXPECT_LT(plan->arena_bytes, plan->no_reuse_bytes);
  for (const HeuristicResult& h : plan->tried) EXPECT_GE(h.arena_bytes, plan->lower_bound_bytes);
}

TEST_P(MemoryRealPrograms, CorruptingTheRealPlanIsCaught) {
  Compile();
  if (IsSkipped() || HasFatalFailure()) return;
  auto plan = PlanMemory(&prog_);
  ASSERT_TRUE(plan.ok());
  // Put the smaller of the two largest tensors live at the peak op on top of the larger one.
  const Lifetimes& lt = plan->lifetimes;
  int big = -1, second = -1;
  for (const ArenaBuffer& b : lt.buffers) {
    if (!b.live_at(lt.peak_op)) continue;
    if (big < 0 || b.bytes > prog_.tensors[big].bytes()) second = big, big = b.root;
    else if (second < 0 || b.bytes > prog_.tensors[second].bytes()) second = b.root;
  }
  ASSERT_GE(second, 0);
  MemoryPlan bad = *plan;
  for (int id : lt.buffers[lt.buffer_of[second]].members) {
    bad.offsets[id] = plan->offsets[big];
    prog_.tensors[id].offset = plan->offsets[big];
  }
  const Status st = CheckPlan(prog_, bad);
  ASSERT_FALSE(st.ok());
  // The first overlap found involves the moved tensor (nothing else changed).
  bool named = false;
  for (int id : lt.buffers[lt.buffer_of[second]].members) named |= Has(st, "'" + prog_.tensors[id].name + "'");
  EXPECT_TRUE(named) << st.ToString();
  EXPECT_TRUE(Has(st, "overlap while both are live")) << st.ToString();
}

// The planned arena is safe where it matters: one training step inside exactly the planned arena gives
// bit-identical results to the same step with no reuse at all (every tensor in its own bytes).
TEST_P(MemoryRealPrograms, StepInThePlannedArenaEqualsStepWithoutReuse) {
  Compile();
  if (IsSkipped() || HasFatalFailure()) return;
  Program naive = prog_;
  const int64_t naive_bytes = PlanNaive(&naive);
  auto plan = PlanMemory(&prog_);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(CheckPlan(prog_, *plan).ok());
  ExecutorOptions eo;
  eo.sgd.lr = 0.05f;
  auto planned = Executor::Create(&prog_, plan->arena_bytes, eo);
  auto reference = Executor::Create(&naive, naive_bytes, eo);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  EXPECT_EQ((*planned)->arena_bytes(), plan->arena_bytes);
  const int64_t n = prog_.tensors[prog_.input].bytes();
  for (int step = 0; step < 2; ++step) {
    for (int64_t i = 0; i < n; ++i) {
      const int8_t v = static_cast<int8_t>((i * 131 + step * 17) % 251 - 125);
      (*planned)->input()[i] = v;
      (*reference)->input()[i] = v;
    }
    (*planned)->Step(step % 10);
    (*reference)->Step(step % 10);
    ASSERT_TRUE((*planned)->CheckGuards().ok());
    EXPECT_EQ((*planned)->last_loss(), (*reference)->last_loss()) << "step " << step;
  }
  for (size_t id = 0; id < prog_.tensors.size(); ++id) {
    const TensorInfo& t = prog_.tensors[id];
    if (t.storage != Storage::kState) continue;
    EXPECT_EQ(std::memcmp((*planned)->Data(static_cast<int>(id)), (*reference)->Data(static_cast<int>(id)),
                          static_cast<size_t>(t.bytes())),
              0)
        << "state tensor " << t.name << " differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Schemes, MemoryRealPrograms,
                         ::testing::Values(RealCase{"mcunet-5fps", "49kb", true},
                                           RealCase{"mcunet-5fps", "49kb", false},
                                           RealCase{"mcunet-5fps", "sparse_100kb", true},
                                           RealCase{"mcunet-5fps", "bias-only", true},
                                           RealCase{"mcunet-5fps", "last:6", false},
                                           RealCase{"mcunet-5fps", "full", true},
                                           RealCase{"mbv2-w0.35", "99kb", true},
                                           RealCase{"mbv2-w0.35", "138kb", false},
                                           RealCase{"mbv2-w0.35", "full", true}),
                         CaseName);

}  // namespace
}  // namespace tte
