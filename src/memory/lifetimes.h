// Lifetimes of the arena tensors of a Program over its schedule, and the lower bound of any arena plan.
//
// The schedule is the op order. A tensor is live at every op from the first op that uses it (reads or
// writes it) to the last one, inclusive; an op's inputs and outputs are live at the same time (kernels
// are not assumed to work in place unless the compiler says so with one tensor id or an alias group).
// `is_input` tensors (written by the caller before the step) are live from op 0, `is_output` tensors
// (read by the caller after the step) stay live to the last op.
//
// Tensors joined by `alias_of` (in-place decisions of the compiler) form one buffer: one offset, the
// union of the members' lifetimes, the size of the largest member.
//
// The lower bound of any plan is the largest sum of live bytes at one op (the max-clique weight of the
// interval graph): no placement can do better, so planners report arena / lower bound.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"

namespace tte {

// One arena buffer: an alias group of kArena tensors (usually a single tensor).
struct ArenaBuffer {
  int root = -1;             // the group's representative tensor (the end of every alias_of chain)
  std::vector<int> members;  // tensor ids, ascending (root included)
  int64_t bytes = 0;         // size of the largest member
  int first = 0, last = -1;  // live at ops [first, last]; last < first: never live (unused tensor)
  bool live_at(int op) const { return first <= op && op <= last; }
};

struct Lifetimes {
  int num_ops = 0;
  std::vector<ArenaBuffer> buffers;  // ordered by (first, root)
  std::vector<int> buffer_of;        // by tensor id: index into buffers, -1 for kState/kFlash tensors
  std::vector<int64_t> live_bytes;   // by op: bytes of the buffers live at that op
  int64_t lower_bound = 0;           // max(live_bytes), and at least the largest buffer
  int peak_op = -1;                  // first op where live_bytes == lower_bound (-1: no ops)
};

// Computes buffers and lifetimes. Fails on a malformed program: a tensor id out of range, an alias chain
// that loops or that leaves the arena.
Result<Lifetimes> ComputeLifetimes(const Program& prog);

// "#25 conv b7.dw" / "#66 add_backward b12": an op's index, kernel and layer, for reports.
std::string OpLabel(const Program& prog, int op);

// What a tensor is, for accounting and the schedule picture. Derived from generic Program data only:
// names ("g:" gradients, "scratch"), bit masks, and whether a backward op reads it (saved for backward).
enum class TensorKind { kActivation, kMask, kSaved, kGradient, kScratch };
const char* TensorKindName(TensorKind kind);
TensorKind ClassifyTensor(const Program& prog, int id);

}  // namespace tte
