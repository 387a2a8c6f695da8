// Device program compilation with automatic patch selection (see device_compile.h).
#include "memory/device_compile.h"

namespace tte {

int64_t StateBytes(const Program& p) {
  int64_t s = 0;
  for (const auto& t : p.tensors)
    if (t.storage == Storage::kState) s += (t.bytes() + 7) / 8 * 8;
  return s;
}

Result<DeviceCompileResult> CompileForDevice(const ir::Graph& model, const Scheme& scheme, TrainOptions options,
                                             int patch_grid, const PlannerOptions& planner) {
  std::vector<int> grids = patch_grid >= 0 ? std::vector<int>{patch_grid} : std::vector<int>{0, 2, 3, 4};
  DeviceCompileResult best;
  int64_t best_total = -1;
  Status last_error;
  for (int g : grids) {
    options.patch_grid = g;
    auto ct = CompileTraining(model, scheme, options);
    if (!ct.ok()) {
      if (g == 0 || patch_grid >= 0) return ct.status();
      last_error = ct.status();  // e.g. nothing to patch: keep the unpatched program
      continue;
    }
    auto plan = PlanMemory(&ct->program, planner);
    if (!plan.ok()) return plan.status();
    const int64_t state = StateBytes(ct->program);
    const int64_t total = plan->arena_bytes + state;
    if (best_total < 0 || total < best_total) {
      best_total = total;
      best.compiled = std::move(*ct);
      best.plan = *plan;
      best.state_bytes = state;
    }
    best.tried.emplace_back(g, total);
  }
  if (best_total < 0) return last_error;
  return best;  // the winner's program carries its plan's offsets (PlanMemory applied them before the move)
}

}  // namespace tte
