// Sequential, no-reuse arena plan (see naive_plan.h).
#include "memory/naive_plan.h"

namespace tte {

int64_t PlanNaive(Program* prog) {
  int64_t off = 0;
  for (auto& t : prog->tensors) {
    if (t.storage != Storage::kArena) continue;
    if (t.alias_of >= 0) continue;
    t.offset = off;
    off += (t.bytes() + 7) / 8 * 8;
  }
  for (auto& t : prog->tensors)
    if (t.storage == Storage::kArena && t.alias_of >= 0) t.offset = prog->tensors[t.alias_of].offset;
  return off;
}

}  // namespace tte
