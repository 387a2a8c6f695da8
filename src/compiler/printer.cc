// Stable text form of a Program (what `tte compile` prints), so a reader can check what was pruned.
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "compiler/train_compiler.h"

namespace tte {
namespace {

const char* StorageName(Storage s) {
  switch (s) {
    case Storage::kArena: return "arena";
    case Storage::kState: return "state";
    case Storage::kFlash: return "flash";
  }
  return "?";
}

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kForward: return "forward";
    case Phase::kLoss: return "loss";
    case Phase::kBackward: return "backward";
    case Phase::kUpdate: return "update";
  }
  return "?";
}

std::string TensorRef(const Program& p, int id) {
  if (id < 0) return "-";
  std::string s = "%";
  s += std::to_string(id);
  s += '(';
  s += p.tensors[id].name;
  s += ')';
  return s;
}

}  // namespace

std::string ProgramToText(const Program& p, bool with_tensors) {
  std::ostringstream os;
  const TrainSettings& t = p.train;
  os << "program: " << (t.enabled ? "training" : "inference") << ", resolution " << p.resolution;
  if (t.enabled)
    os << ", " << t.num_classes << " classes, store=" << (t.store == TTE_STORE_MASTER ? "master" : "device")
       << ", rounding=" << (t.rounding == TTE_ROUND_STOCHASTIC ? "stochastic" : "nearest") << ", qas=" << (t.qas ? "on" : "off")
       << ", momentum=" << t.momentum << ", updates=" << (t.fused ? "fused (reordered)" : "deferred");
  os << "\n";
  if (with_tensors) {
    os << "\ntensors (" << p.tensors.size() << "):\n";
    for (size_t i = 0; i < p.tensors.size(); ++i) {
      const TensorInfo& x = p.tensors[i];
      char line[256];
      std::snprintf(line, sizeof line, "  %%%-4zu %-32s %-7s %-18s %-5s %9lld B", i, x.name.c_str(),
                    x.bits ? "bits" : DTypeName(x.dtype), ShapeString(x.shape).c_str(), StorageName(x.storage),
                    static_cast<long long>(x.bytes()));
      os << line;
      if (!x.alias_reason.empty()) os << "  (" << x.alias_reason << ")";
      os << "\n";
    }
  }
  os << "\nops (" << p.ops.size() << "):\n";
  std::map<std::string, std::map<std::string, int>> counts;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    counts[PhaseName(op.phase)][OpCodeName(op.code)]++;
    os << "  #" << i << " " << PhaseName(op.phase) << " " << OpCodeName(op.code);
    if (op.conv >= 0 && op.conv < static_cast<int>(p.convs.size())) os << " conv=" << op.conv << "(" << p.convs[op.conv].name << ")";
    if (op.aux >= 0) os << " aux=" << op.aux;
    if (op.accumulate) os << " accumulate";
    os << " :";
    for (int id : op.ins) os << " " << TensorRef(p, id);
    os << " ->";
    for (int id : op.outs) os << " " << TensorRef(p, id);
    if (!op.note.empty()) os << "   # " << op.note;
    os << "\n";
  }
  os << "\nop counts:\n";
  for (const char* phase : {"forward", "loss", "backward", "update"}) {
    auto it = counts.find(phase);
    if (it == counts.end()) continue;
    int total = 0;
    std::string parts;
    for (const auto& [name, c] : it->second) {
      parts += "  " + name + " " + std::to_string(c);
      total += c;
    }
    os << "  " << phase << " (" << total << "):" << parts << "\n";
  }
  if (t.enabled) {
    os << "\ntrained parameters:\n";
    int nb = 0, nw = 0;
    for (const ConvBinding& b : p.convs) {
      if (!b.train_bias && !b.train_weight) continue;
      nb += b.train_bias;
      nw += b.train_weight;
      os << "  conv " << b.index << " (" << b.name << "): bias " << (b.train_bias ? "yes" : "no");
      if (b.train_weight) {
        os << ", weight " << b.n_train << "/" << (b.depthwise ? b.cout : b.cin) << " " << (b.depthwise ? "channels" : "input channels") << " [";
        const auto& sel = p.tensors[b.sel].init;
        for (int j = 0; j < b.n_train; ++j) {
          uint16_t c;
          std::memcpy(&c, sel.data() + 2 * j, 2);
          os << (j ? "," : "") << c;
        }
        os << "]";
      }
      os << "\n";
    }
    os << "  head: fp32 " << p.head.out << " x " << p.head.in << " (always trained)\n";
    os << "  total: " << nb << " biases, " << nw << " weights\n";
  }
  return os.str();
}

}  // namespace tte
