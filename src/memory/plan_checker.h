// CheckPlan: the overlap oracle every planner test and every end-to-end test runs on its plan.
//
// Independently of the planner (it recomputes every lifetime from the ops itself), it proves:
//   - every kArena tensor has an offset, aligned to kArenaAlignment, and lies inside [0, arena_bytes);
//   - the program's TensorInfo::offset (what the runtime uses) agrees with the plan, when set;
//   - members of one alias group (alias_of chains) share one offset;
//   - no two arena tensors of different alias groups that are live at the same op share a byte.
//     A tensor is live from its first to its last use (an op's inputs and outputs at the same time),
//     is_input tensors from op 0, is_output tensors to the last op.
// Error messages name both tensors, the op and the byte ranges.
#pragma once

#include "compiler/program.h"
#include "core/status.h"
#include "memory/planner.h"

namespace tte {

Status CheckPlan(const Program& prog, const MemoryPlan& plan);

}  // namespace tte
