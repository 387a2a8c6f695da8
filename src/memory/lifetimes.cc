// Arena tensor lifetimes and the live-bytes lower bound (see lifetimes.h).
#include "memory/lifetimes.h"

#include <algorithm>
#include <map>

namespace tte {
namespace {

// The root of `id`'s alias chain, or -1 when the chain is malformed (loop, id out of range).
int ChainRoot(const Program& prog, int id) {
  const int n = static_cast<int>(prog.tensors.size());
  for (int steps = 0; steps <= n; ++steps) {
    if (id < 0 || id >= n) return -1;
    const int next = prog.tensors[id].alias_of;
    if (next < 0) return id;
    id = next;
  }
  return -1;  // a loop
}

}  // namespace

Result<Lifetimes> ComputeLifetimes(const Program& prog) {
  const int nt = static_cast<int>(prog.tensors.size());
  const int nops = static_cast<int>(prog.ops.size());
  Lifetimes lt;
  lt.num_ops = nops;
  lt.buffer_of.assign(nt, -1);

  // Alias groups of arena tensors.
  std::map<int, std::vector<int>> groups;  // root -> members
  for (int id = 0; id < nt; ++id) {
    const TensorInfo& t = prog.tensors[id];
    if (t.storage != Storage::kArena) continue;
    const int root = ChainRoot(prog, id);
    if (root < 0)
      return InvalidArgument("plan: tensor %" + std::to_string(id) + " '" + t.name +
                             "': alias_of chain loops or points outside the program");
    if (prog.tensors[root].storage != Storage::kArena)
      return InvalidArgument("plan: tensor %" + std::to_string(id) + " '" + t.name +
                             "' is an arena tensor aliased to '" + prog.tensors[root].name +
                             "', which is not in the arena");
    groups[root].push_back(id);
  }

  // First and last use of every tensor.
  std::vector<int> first(nt, nops), last(nt, -1);
  for (int i = 0; i < nops; ++i) {
    const Op& op = prog.ops[i];
    for (const std::vector<int>* list : {&op.ins, &op.outs}) {
      for (int id : *list) {
        if (id < 0) continue;  // an optional operand that is absent
        if (id >= nt)
          return InvalidArgument("plan: " + OpLabel(prog, i) + " refers to tensor %" +
                                 std::to_string(id) + ", outside the program's " +
                                 std::to_string(nt) + " tensors");
        first[id] = std::min(first[id], i);
        last[id] = std::max(last[id], i);
      }
    }
  }
  for (int id = 0; id < nt; ++id) {
    const TensorInfo& t = prog.tensors[id];
    if (nops == 0) break;
    if (t.is_input) first[id] = 0, last[id] = std::max(last[id], 0);
    if (t.is_output) first[id] = std::min(first[id], nops - 1), last[id] = nops - 1;
  }

  for (auto& [root, members] : groups) {
    ArenaBuffer b;
    b.root = root;
    b.members = members;
    b.first = nops;
    b.last = -1;
    for (int id : members) {
      b.bytes = std::max(b.bytes, prog.tensors[id].bytes());
      b.first = std::min(b.first, first[id]);
      b.last = std::max(b.last, last[id]);
    }
    if (b.last < b.first) b.first = 0, b.last = -1;  // never used: no lifetime
    lt.buffers.push_back(std::move(b));
  }
  std::stable_sort(lt.buffers.begin(), lt.buffers.end(), [](const ArenaBuffer& a, const ArenaBuffer& b) {
    return a.first != b.first ? a.first < b.first : a.root < b.root;
  });
  for (int bi = 0; bi < static_cast<int>(lt.buffers.size()); ++bi)
    for (int id : lt.buffers[bi].members) lt.buffer_of[id] = bi;

  // Live bytes per op: a difference array over the lifetimes.
  std::vector<int64_t> delta(nops + 1, 0);
  for (const ArenaBuffer& b : lt.buffers) {
    if (b.last < b.first) continue;
    delta[b.first] += b.bytes;
    delta[b.last + 1] -= b.bytes;
  }
  lt.live_bytes.assign(nops, 0);
  int64_t run = 0;
  for (int i = 0; i < nops; ++i) {
    run += delta[i];
    lt.live_bytes[i] = run;
    if (lt.peak_op < 0 || run > lt.live_bytes[lt.peak_op]) lt.peak_op = i;
  }
  if (lt.peak_op >= 0) lt.lower_bound = lt.live_bytes[lt.peak_op];
  for (const ArenaBuffer& b : lt.buffers) lt.lower_bound = std::max(lt.lower_bound, b.bytes);
  return lt;
}

std::string OpLabel(const Program& prog, int op) {
  if (op < 0 || op >= static_cast<int>(prog.ops.size())) return "#" + std::to_string(op) + " (none)";
  const Op& o = prog.ops[op];
  std::string s = "#" + std::to_string(op) + " " + OpCodeName(o.code);
  if (o.conv >= 0 && o.conv < static_cast<int>(prog.convs.size()) && !prog.convs[o.conv].name.empty())
    s += " " + prog.convs[o.conv].name;
  else if (o.conv >= 0)
    s += " conv" + std::to_string(o.conv);
  else if (o.aux >= 0)
    s += " [" + std::to_string(o.aux) + "]";
  else if (o.code == OpCode::kApplyUpdate)
    s += " head";
  return s;
}

const char* TensorKindName(TensorKind kind) {
  switch (kind) {
    case TensorKind::kActivation: return "activation";
    case TensorKind::kMask: return "mask";
    case TensorKind::kSaved: return "saved";
    case TensorKind::kGradient: return "gradient";
    case TensorKind::kScratch: return "scratch";
  }
  return "?";
}

TensorKind ClassifyTensor(const Program& prog, int id) {
  const TensorInfo& t = prog.tensors[id];
  if (t.name.find("scratch") != std::string::npos) return TensorKind::kScratch;
  if (t.bits) return TensorKind::kMask;
  if (t.name.rfind("g:", 0) == 0) return TensorKind::kGradient;
  if (t.name.find("saved") != std::string::npos) return TensorKind::kSaved;
  // A forward tensor read by a backward op is kept for the backward.
  bool written_forward = false, read_backward = false;
  for (const Op& op : prog.ops) {
    const bool fwd = op.phase == Phase::kForward;
    if (fwd && std::find(op.outs.begin(), op.outs.end(), id) != op.outs.end()) written_forward = true;
    if (op.phase == Phase::kBackward && std::find(op.ins.begin(), op.ins.end(), id) != op.ins.end())
      read_backward = true;
  }
  return written_forward && read_backward ? TensorKind::kSaved : TensorKind::kActivation;
}

}  // namespace tte
