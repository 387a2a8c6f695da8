// The static arena planner: one offset for every arena tensor of a Program, in ONE arena.
//
// The problem is dynamic storage allocation with known lifetimes: rectangles (lifetime x bytes) must be
// stacked without two time-overlapping rectangles sharing a byte, minimising the highest end. It is
// NP-hard, but the live-bytes lower bound (lifetimes.h) tells how far from optimal a plan is. The
// planner runs several placement heuristics and keeps the smallest arena (ties: the first one listed):
//
//   greedy-by-size      largest buffer first, each at the lowest offset that fits (TFLM's GreedyMemoryPlanner)
//   greedy-by-lifetime  longest lifetime first, lowest fitting offset (TinyEngine's firstFit, sort_by_lifetime)
//   first-fit           schedule order (by first use), lowest fitting offset
//   best-fit            schedule order, the smallest gap that fits (else the top)
//   greedy-by-area      largest bytes x lifetime first, lowest fitting offset
//   greedy-by-pressure  buffers that are live at the most crowded ops first (the peak's clique is packed
//                       tightly), then by size
//   search              iterated local search over placement orders, started from the best order above:
//                       move a buffer that reaches the arena top earlier, or swap two buffers, re-place
//                       first-fit, accept if not worse. Fixed seed and a fixed work budget: the plan is a
//                       pure function of the Program.
//
// Offsets are multiples of kArenaAlignment. An alias group (lifetimes.h) is placed as one buffer.
//
// Usage:
//   TTE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(&program));   // writes TensorInfo::offset
//   TTE_RETURN_IF_ERROR(CheckPlan(program, plan));                 // plan_checker.h
//   auto exec = Executor::Create(&program, plan.arena_bytes);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "memory/lifetimes.h"

namespace tte {

inline constexpr int64_t kArenaAlignment = 8;

enum class Heuristic {
  kGreedyBySize,
  kGreedyByLifetime,
  kFirstFit,
  kBestFit,
  kGreedyByArea,
  kGreedyByPressure,
  kSearch,
};
const char* HeuristicName(Heuristic h);

struct PlannerOptions {
  bool search = true;              // run the iterated search after the constructive heuristics
  uint64_t seed = 0x7474655f6d656dull;
  int max_search_iterations = 4000;
  int64_t search_work = 400000000;  // budget in buffer-pair visits; caps the iterations on big programs
};

struct HeuristicResult {
  Heuristic heuristic;
  int64_t arena_bytes = 0;
};

// Offsets for a set of buffers (only bytes/first/last are read): the core of the planner, also used by
// tests with hand-built lifetimes.
struct Placement {
  std::vector<int64_t> offsets;  // by buffer index
  int64_t arena_bytes = 0;
  Heuristic heuristic = Heuristic::kGreedyBySize;
  std::vector<HeuristicResult> tried;  // every heuristic with its arena size, in the order above
};
// One heuristic alone (kSearch starts from greedy-by-size's order).
Placement PlaceBuffers(const std::vector<ArenaBuffer>& buffers, Heuristic h, const PlannerOptions& opt = {});
// Every heuristic; the best one.
Placement PlaceBuffersBest(const std::vector<ArenaBuffer>& buffers, const PlannerOptions& opt = {});

struct MemoryPlan {
  int64_t arena_bytes = 0;          // max(offset + bytes): what the executor allocates
  int64_t lower_bound_bytes = 0;    // max live bytes at one op
  int64_t no_reuse_bytes = 0;       // every arena tensor in its own bytes (PlanNaive)
  Heuristic heuristic = Heuristic::kGreedyBySize;
  std::vector<HeuristicResult> tried;
  int peak_op = -1;                 // op with the most live bytes
  std::string peak_op_label;        // "#3 conv b1.pw1"
  std::vector<int64_t> offsets;     // by tensor id; -1 for kState/kFlash tensors
  Lifetimes lifetimes;
  double ratio() const {
    return lower_bound_bytes > 0 ? static_cast<double>(arena_bytes) / lower_bound_bytes : 1.0;
  }
};

// Plans without touching the program.
Result<MemoryPlan> ComputeMemoryPlan(const Program& prog, const PlannerOptions& opt = {});
// Plans and writes TensorInfo::offset of every kArena tensor.
Result<MemoryPlan> PlanMemory(Program* prog, const PlannerOptions& opt = {});
// Writes plan.offsets into the program's TensorInfo::offset.
void ApplyPlan(const MemoryPlan& plan, Program* prog);

}  // namespace tte
