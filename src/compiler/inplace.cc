// In-place decisions (see inplace.h).
#include "compiler/inplace.h"

#include <string>

namespace tte {
namespace {

// True if any op after `op_index` reads (or writes) storage of `root`'s alias group, or the group is
// pinned (program input/output, not in the arena).
bool GroupUsedAfter(const Program& p, int root, size_t op_index) {
  const TensorInfo& r = p.tensors[root];
  if (r.is_input || r.is_output || r.storage != Storage::kArena) return true;
  for (size_t j = op_index + 1; j < p.ops.size(); ++j) {
    for (int id : p.ops[j].ins)
      if (id >= 0 && AliasRoot(p, id) == root) return true;
    for (int id : p.ops[j].outs)
      if (id >= 0 && AliasRoot(p, id) == root) return true;
  }
  for (size_t t = 0; t < p.tensors.size(); ++t)
    if (AliasRoot(p, static_cast<int>(t)) == root && (p.tensors[t].is_output || p.tensors[t].is_input)) return true;
  return false;
}

int AddScratch(Program* p, const std::string& name, DType dt, int64_t elements) {
  TensorInfo s;
  s.name = name;
  s.dtype = dt;
  s.shape = {elements};
  return p->AddTensor(s);
}

void Alias(Program* p, int out, int in, const std::string& why) {
  TensorInfo& t = p->tensors[out];
  t.alias_of = AliasRoot(*p, in);
  t.alias_reason = why;
}

}  // namespace

int ApplyInPlace(Program* prog) {
  Program& P = *prog;
  int changed = 0;
  for (size_t i = 0; i < P.ops.size(); ++i) {
    Op& op = P.ops[i];
    if (op.in_place || op.windowed || op.ins.empty() || op.outs.empty()) continue;
    if (op.code == OpCode::kConv && op.conv >= 0 && op.conv < static_cast<int>(P.convs.size()) &&
        P.convs[op.conv].depthwise && P.convs[op.conv].cout == P.convs[op.conv].cin) {
      const ConvBinding& b = P.convs[op.conv];
      const int x = op.ins[0], y = op.outs[0];
      if (GroupUsedAfter(P, AliasRoot(P, x), i)) continue;
      const int s = AddScratch(prog, b.name + ".plane_scratch", DType::kInt8, static_cast<int64_t>(b.out_h) * b.out_w);
      Op& o = P.ops[i];  // AddTensor does not move ops, but keep the reference fresh
      o.ins.push_back(s);
      o.in_place = true;
      o.note += (o.note.empty() ? "" : "; ") + std::string("in place: output over the input, one output plane of scratch");
      Alias(prog, y, x, "depthwise conv in place: its input is not read afterwards; planes are computed into a one-plane scratch");
      ++changed;
    } else if (op.code == OpCode::kAdd && op.ins.size() == 2) {
      const int x2 = op.ins[1], y = op.outs[0];
      if (GroupUsedAfter(P, AliasRoot(P, x2), i)) continue;
      op.in_place = true;
      op.note += (op.note.empty() ? "" : "; ") + std::string("in place over the conv branch");
      Alias(prog, y, x2, "residual add in place: elementwise, the conv-branch input is not read afterwards");
      ++changed;
    } else if (op.code == OpCode::kConvBackwardInput && !op.accumulate && op.conv >= 0 && P.convs[op.conv].depthwise &&
               P.convs[op.conv].cout == P.convs[op.conv].cin && P.convs[op.conv].sh == 1 && P.convs[op.conv].sw == 1 &&
               P.convs[op.conv].dh == 1 && P.convs[op.conv].dw == 1 && P.convs[op.conv].in_h == P.convs[op.conv].out_h &&
               P.convs[op.conv].in_w == P.convs[op.conv].out_w) {
      const ConvBinding& b = P.convs[op.conv];
      const int g = op.ins[0], dx = op.outs[0];
      if (GroupUsedAfter(P, AliasRoot(P, g), i)) continue;  // e.g. the weight gradient still needs g
      const int s = AddScratch(prog, b.name + ".grad_plane_scratch", DType::kFloat32, static_cast<int64_t>(b.in_h) * b.in_w);
      Op& o = P.ops[i];
      o.ins.push_back(s);
      o.in_place = true;
      o.note += "; in place: dx over g (stride 1), one plane of scratch";
      Alias(prog, dx, g, "depthwise input gradient in place: stride 1, g is not read afterwards (weights frozen)");
      ++changed;
    }
  }
  return changed;
}

}  // namespace tte
