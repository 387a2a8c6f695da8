// CompileForDevice: the training program a device runs, compiled AND planned, with the patch-based forward
// chosen automatically: every grid in {off, 2x2, 3x3, 4x4} (ending at the last frozen conv) is compiled
// and planned, and the one with the smallest peak SRAM (arena + persistent state) wins; ties go to fewer
// patches (less recomputation). All candidates train bit-identically (tests/compiler/equivalence_test).
#pragma once

#include <string>
#include <vector>

#include "compiler/train_compiler.h"
#include "memory/planner.h"

namespace tte {

struct DeviceCompileResult {
  CompiledTraining compiled;
  MemoryPlan plan;
  int64_t state_bytes = 0;
  std::vector<std::pair<int, int64_t>> tried;  // (grid, arena + state bytes) of every candidate
};

// patch_grid: -1 = automatic (see above), 0 = off, N = N x N. `planner`: the arena planner's options (the scheme
// search plans its candidates with fewer local-search iterations, which can only give a larger arena).
Result<DeviceCompileResult> CompileForDevice(const ir::Graph& model, const Scheme& scheme, TrainOptions options,
                                             int patch_grid = -1, const PlannerOptions& planner = {});

int64_t StateBytes(const Program& p);

}  // namespace tte
