// The memory report of a planned program that `tte plan` prints: the text and JSON forms. (Byte sizes are
// parsed and formatted by core/byte_size.h; the budget check, CheckBudget, is in memory/sram.h.)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/program.h"
#include "core/byte_size.h"
#include "core/status.h"
#include "memory/planner.h"
#include "memory/sram.h"

namespace tte {

struct ReportHeader {
  std::string model, scheme;
  int resolution = 0;
  bool fused = true;     // operator reordering (updates fused into the backward)
  bool in_place = true;  // the compiler's in-place decisions
  int patch_grid = 0;    // patch-based forward of the frozen prefix: grid x grid (0: off)
  int patch_split_conv = -1;
  std::vector<std::pair<int, int64_t>> patch_tried;  // (grid, arena + state) of every grid tried
};

std::string MemoryReportText(const ReportHeader& h, const Program& prog, const MemoryPlan& plan,
                             const MemoryReport& r);
// One JSON object: peak_sram_bytes, arena_bytes, lower_bound_bytes, trainable_sram_bytes, flash_bytes,
// the full SRAM/flash breakdown, the plan (ratio, heuristic, heuristics tried, peak op) and the largest
// SRAM users. `budget_bytes` < 0: no budget.
std::string MemoryReportJson(const ReportHeader& h, const Program& prog, const MemoryPlan& plan,
                             const MemoryReport& r, int64_t budget_bytes);

}  // namespace tte
