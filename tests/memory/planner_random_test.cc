// Randomized lifetimes: random programs (chains, fan-out, long-lived saved tensors, masks, in-place alias
// chains, absent operands, inputs/outputs, state operands) through every heuristic and the full planner.
// Each case has its own seed, printed on failure; replay one with
//   TTE_MEMORY_SEED=<seed> TTE_MEMORY_CASES=1 ./memory_test --gtest_filter='MemoryRandom*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "memory/lifetimes.h"
#include "memory/plan_checker.h"
#include "memory/planner.h"
#include "program_builder.h"

namespace tte {
namespace {

using testing::ProgramBuilder;

// A short search keeps 300 cases fast; the search's moves and acceptance are the same at any length.
PlannerOptions TestOptions() {
  PlannerOptions o;
  o.max_search_iterations = 200;
  return o;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

Program RandomProgram(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return static_cast<int>(rng() % n); };
  ProgramBuilder pb;
  std::vector<int> pool;  // arena tensors written so far
  const int inputs = 1 + below(2);
  for (int i = 0; i < inputs; ++i) pool.push_back(pb.Input("in" + std::to_string(i), 1 + below(5000)));
  const int state = pb.State("state", 1 + below(100));
  const int nops = 1 + below(60);
  for (int op = 0; op < nops; ++op) {
    std::vector<int> ins, outs;
    const int nin = below(4);
    for (int k = 0; k < nin && !pool.empty(); ++k) {
      // Mostly recent tensors (a chain), sometimes an old one (a saved tensor, a fan-out gradient).
      const int back = below(4) == 0 ? below(static_cast<int>(pool.size())) : below(std::min<int>(3, pool.size()));
      const int id = pool[pool.size() - 1 - back];
      if (std::find(ins.begin(), ins.end(), id) == ins.end()) ins.push_back(id);
    }
    if (below(5) == 0) ins.push_back(state);
    const int nout = 1 + below(2);
    for (int k = 0; k < nout; ++k) {
      const int cls = below(10);
      const int64_t bytes = cls < 3 ? 1 + below(64) : cls < 8 ? 64 + below(4096) : 4096 + below(60000);
      const std::string name = "t" + std::to_string(op) + "_" + std::to_string(k);
      int id;
      if (below(6) == 0) id = pb.Mask(name, 1 + below(20000));
      else if (below(15) == 0) id = pb.Output(name, bytes);
      else id = pb.Tensor(name, bytes);
      if (!ins.empty() && ins[0] != state && below(5) == 0) pb.Alias(id, ins[0]);  // in place of an input
      outs.push_back(id);
      pool.push_back(id);
    }
    if (below(10) == 0) outs.insert(outs.begin(), -1);  // an absent optional output
    if (below(8) == 0) outs.push_back(ins.empty() || ins[0] == state ? outs.back() : ins[0]);  // same-id in place
    pb.Op(ins, outs, op < nops / 2 ? Phase::kForward : Phase::kBackward);
  }
  if (below(3) == 0) pb.Tensor("never_used", 1 + below(300));
  return pb.program();
}

// Brute force: live bytes of alias groups at each op, straight from the definition.
int64_t BruteForceLowerBound(const Program& p) {
  const int nt = static_cast<int>(p.tensors.size()), nops = static_cast<int>(p.ops.size());
  std::vector<int> root(nt);
  for (int i = 0; i < nt; ++i) {
    root[i] = i;
    while (p.tensors[root[i]].alias_of >= 0) root[i] = p.tensors[root[i]].alias_of;
  }
  std::vector<int> first(nt, nops), last(nt, -1);
  std::vector<int64_t> size(nt, 0);
  for (int i = 0; i < nops; ++i)
    for (const auto* list : {&p.ops[i].ins, &p.ops[i].outs})
      for (int id : *list)
        if (id >= 0 && p.tensors[id].storage == Storage::kArena) {
          first[root[id]] = std::min(first[root[id]], i);
          last[root[id]] = std::max(last[root[id]], i);
        }
  for (int id = 0; id < nt; ++id) {
    if (p.tensors[id].storage != Storage::kArena) continue;
    size[root[id]] = std::max(size[root[id]], p.tensors[id].bytes());
    if (p.tensors[id].is_input) first[root[id]] = 0, last[root[id]] = std::max(last[root[id]], 0);
    if (p.tensors[id].is_output) last[root[id]] = nops - 1, first[root[id]] = std::min(first[root[id]], nops - 1);
  }
  int64_t best = 0;
  for (int i = 0; i < nops; ++i) {
    int64_t live = 0;
    for (int r = 0; r < nt; ++r)
      if (first[r] <= i && i <= last[r]) live += size[r];
    best = std::max(best, live);
  }
  for (int r = 0; r < nt; ++r) best = std::max(best, size[r]);
  return best;
}

// No two time-overlapping buffers share a byte; everything lies inside the arena.
::testing::AssertionResult ValidPlacement(const std::vector<ArenaBuffer>& b, const Placement& p) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (p.offsets[i] < 0 || p.offsets[i] % kArenaAlignment || p.offsets[i] + b[i].bytes > p.arena_bytes)
      return ::testing::AssertionFailure() << "buffer " << i << " misplaced at " << p.offsets[i];
    for (size_t j = i + 1; j < b.size(); ++j) {
      const bool time = b[i].first <= b[j].last && b[j].first <= b[i].last && b[i].first <= b[i].last &&
                        b[j].first <= b[j].last;
      if (time && b[i].bytes && b[j].bytes &&
          testing::Overlap(p.offsets[i], b[i].bytes, p.offsets[j], b[j].bytes))
        return ::testing::AssertionFailure() << "buffers " << i << " and " << j << " overlap";
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(MemoryRandom, EveryHeuristicIsValidAndNeverBelowTheLowerBound) {
  const uint64_t base = EnvOr("TTE_MEMORY_SEED", 20240611);
  const uint64_t cases = EnvOr("TTE_MEMORY_CASES", 300);
  double worst_ratio = 1.0;
  for (uint64_t k = 0; k < cases; ++k) {
    const uint64_t seed = base + k;
    SCOPED_TRACE("replay: TTE_MEMORY_SEED=" + std::to_string(seed) + " TTE_MEMORY_CASES=1");
    Program p = RandomProgram(seed);
    auto lt = ComputeLifetimes(p);
    ASSERT_TRUE(lt.ok()) << lt.status().ToString();
    ASSERT_EQ(lt->lower_bound, BruteForceLowerBound(p));
    for (Heuristic h : {Heuristic::kGreedyBySize, Heuristic::kGreedyByLifetime, Heuristic::kFirstFit,
                        Heuristic::kBestFit, Heuristic::kGreedyByArea, Heuristic::kGreedyByPressure,
                        Heuristic::kSearch}) {
      const Placement pl = PlaceBuffers(lt->buffers, h, TestOptions());
      ASSERT_TRUE(ValidPlacement(lt->buffers, pl)) << HeuristicName(h);
      ASSERT_GE(pl.arena_bytes, lt->lower_bound) << HeuristicName(h);
    }
    // The search starts from greedy-by-size's order and only accepts non-worsening moves.
    EXPECT_LE(PlaceBuffers(lt->buffers, Heuristic::kSearch, TestOptions()).arena_bytes,
              PlaceBuffers(lt->buffers, Heuristic::kGreedyBySize).arena_bytes);

    auto plan = PlanMemory(&p, TestOptions());
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const Status st = CheckPlan(p, *plan);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_GE(plan->arena_bytes, plan->lower_bound_bytes);
    ASSERT_LE(plan->arena_bytes, plan->no_reuse_bytes);
    for (const HeuristicResult& h : plan->tried) ASSERT_GE(h.arena_bytes, plan->arena_bytes);
    worst_ratio = std::max(worst_ratio, plan->ratio());
  }
  std::printf("[ info ] %llu random programs from seed %llu: worst arena/lower bound %.4f\n",
              static_cast<unsigned long long>(cases), static_cast<unsigned long long>(base), worst_ratio);
}

TEST(MemoryRandom, CheckerCatchesEveryOverlapPlantedInARandomPlan) {
  const uint64_t base = EnvOr("TTE_MEMORY_SEED", 20240611);
  const uint64_t cases = EnvOr("TTE_MEMORY_CASES", 300);
  int planted = 0;
  for (uint64_t k = 0; k < cases; ++k) {
    const uint64_t seed = base + k;
    SCOPED_TRACE("replay: TTE_MEMORY_SEED=" + std::to_string(seed) + " TTE_MEMORY_CASES=1");
    Program p = RandomProgram(seed);
    auto plan = PlanMemory(&p, TestOptions());
    ASSERT_TRUE(plan.ok());
    // Two different buffers live at the peak op: move the second onto the first.
    const Lifetimes& lt = plan->lifetimes;
    std::vector<int> live;
    for (size_t b = 0; b < lt.buffers.size(); ++b)
      if (lt.buffers[b].live_at(lt.peak_op) && lt.buffers[b].bytes > 0) live.push_back(static_cast<int>(b));
    if (live.size() < 2) continue;
    MemoryPlan bad = *plan;
    const ArenaBuffer& x = lt.buffers[live[0]];
    const ArenaBuffer& y = lt.buffers[live[1]];
    for (int id : y.members) bad.offsets[id] = plan->offsets[x.root];
    bad.arena_bytes = std::max(bad.arena_bytes, plan->offsets[x.root] + y.bytes);
    for (auto& t : p.tensors) t.offset = -1;  // check the plan's offsets only
    EXPECT_FALSE(CheckPlan(p, bad).ok());
    ++planted;
  }
  EXPECT_GT(planted, static_cast<int>(cases) / 2);
}

}  // namespace
}  // namespace tte
