// Memory reports of a planned program: the text and JSON forms `tte plan` prints, byte-size parsing for
// budgets, and the budget check with a message that says what does not fit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "memory/planner.h"
#include "memory/sram.h"

namespace tte {

// "256KB", "256K", "256KiB", "262144", "262144B", "0.25MB", "1M": K = 1024 bytes, M = 1024 K (the paper's
// KB). Case-insensitive; rejects negatives, fractions of a byte and anything else.
Result<int64_t> ParseByteSize(const std::string& text);

// "123,456 B" and "120.6 KB".
std::string FormatBytes(int64_t bytes);
std::string FormatKb(int64_t bytes);

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

// OutOfMemory naming the overflow and the largest SRAM users when peak SRAM exceeds the budget; says so
// when the persistent state alone (trainable parameters etc.) cannot fit, whatever the arena plan.
Status CheckBudget(const MemoryReport& r, int64_t budget_bytes);

}  // namespace tte
