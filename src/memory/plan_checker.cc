// The plan overlap oracle (see plan_checker.h). Deliberately shares no code with the planner's lifetime
// analysis: it walks the ops itself.
#include "memory/plan_checker.h"

#include <algorithm>

namespace tte {
namespace {

std::string Describe(const Program& prog, int id) {
  return "%" + std::to_string(id) + " '" + prog.tensors[id].name + "'";
}

std::string Range(int64_t begin, int64_t bytes) {
  return "[" + std::to_string(begin) + ", " + std::to_string(begin + bytes) + ")";
}

}  // namespace

Status CheckPlan(const Program& prog, const MemoryPlan& plan) {
  const int nt = static_cast<int>(prog.tensors.size());
  const int nops = static_cast<int>(prog.ops.size());
  if (static_cast<int>(plan.offsets.size()) != nt)
    return Internal("plan check: the plan has offsets for " + std::to_string(plan.offsets.size()) +
                    " tensors, the program has " + std::to_string(nt));
  if (plan.arena_bytes < 0) return Internal("plan check: negative arena size");

  // Placement, alignment, agreement with the program, alias groups.
  std::vector<int> group(nt, -1);
  for (int id = 0; id < nt; ++id) {
    const TensorInfo& t = prog.tensors[id];
    if (t.storage != Storage::kArena) continue;
    const int64_t off = plan.offsets[id], bytes = t.bytes();
    if (off < 0) return Internal("plan check: arena tensor " + Describe(prog, id) + " has no offset");
    if (off % kArenaAlignment != 0)
      return Internal("plan check: tensor " + Describe(prog, id) + " at offset " + std::to_string(off) +
                      " is not aligned to " + std::to_string(kArenaAlignment) + " bytes");
    if (off + bytes > plan.arena_bytes)
      return Internal("plan check: tensor " + Describe(prog, id) + " at " + Range(off, bytes) +
                      " ends outside the " + std::to_string(plan.arena_bytes) + "-byte arena");
    if (t.offset >= 0 && t.offset != off)
      return Internal("plan check: tensor " + Describe(prog, id) + " has offset " + std::to_string(t.offset) +
                      " in the program but " + std::to_string(off) + " in the plan");
    int root = id;
    for (int steps = 0; prog.tensors[root].alias_of >= 0; ++steps) {
      root = prog.tensors[root].alias_of;
      if (steps > nt || root < 0 || root >= nt)
        return Internal("plan check: tensor " + Describe(prog, id) + ": alias_of chain is malformed");
    }
    if (prog.tensors[root].storage != Storage::kArena)
      return Internal("plan check: arena tensor " + Describe(prog, id) + " aliases " + Describe(prog, root) +
                      ", which is not in the arena");
    if (plan.offsets[root] != off)
      return Internal("plan check: tensor " + Describe(prog, id) + " at offset " + std::to_string(off) +
                      " is in place of " + Describe(prog, root) + " at offset " +
                      std::to_string(plan.offsets[root]) + ": alias members must share one offset");
    group[id] = root;
  }

  // Lifetimes, straight from the ops.
  std::vector<int> first(nt, nops), last(nt, -1);
  for (int i = 0; i < nops; ++i)
    for (const std::vector<int>* list : {&prog.ops[i].ins, &prog.ops[i].outs})
      for (int id : *list) {
        if (id < 0) continue;  // an optional operand that is absent
        if (id >= nt)
          return Internal("plan check: op #" + std::to_string(i) + " uses tensor %" + std::to_string(id) +
                          ", which does not exist");
        first[id] = std::min(first[id], i);
        last[id] = std::max(last[id], i);
      }
  std::vector<int> live;
  for (int id = 0; id < nt; ++id) {
    if (group[id] < 0 || nops == 0) continue;
    if (prog.tensors[id].is_input) first[id] = 0, last[id] = std::max(last[id], 0);
    if (prog.tensors[id].is_output) first[id] = std::min(first[id], nops - 1), last[id] = nops - 1;
    if (first[id] <= last[id] && prog.tensors[id].bytes() > 0) live.push_back(id);
  }

  // Sweep in order of first use: each tensor against every earlier-starting tensor still live.
  std::stable_sort(live.begin(), live.end(), [&](int a, int b) { return first[a] < first[b]; });
  for (size_t a = 0; a < live.size(); ++a) {
    const int x = live[a];
    for (size_t c = a + 1; c < live.size() && first[live[c]] <= last[x]; ++c) {
      const int y = live[c];
      if (group[x] == group[y]) continue;
      const int64_t xo = plan.offsets[x], xb = prog.tensors[x].bytes();
      const int64_t yo = plan.offsets[y], yb = prog.tensors[y].bytes();
      if (xo < yo + yb && yo < xo + xb) {
        const int op = first[y];  // both are live here: first[x] <= first[y] <= last[x]
        std::string where = "op #" + std::to_string(op) + " (" + OpCodeName(prog.ops[op].code) + ")";
        return Internal("plan check: tensors " + Describe(prog, x) + " at " + Range(xo, xb) + " and " +
                        Describe(prog, y) + " at " + Range(yo, yb) + " overlap while both are live at " +
                        where + " (lifetimes [" + std::to_string(first[x]) + ", " + std::to_string(last[x]) +
                        "] and [" + std::to_string(first[y]) + ", " + std::to_string(last[y]) + "])");
      }
    }
  }
  return Status::Ok();
}

}  // namespace tte
