// SVG picture of an arena plan over the schedule (see plan_svg.h).
#include "cli/plan_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tte {
namespace {

constexpr double kWidth = 1200, kHeight = 680;
constexpr double kLeft = 90, kRight = 210, kTop = 70, kBottom = 90;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

const char* KindColor(TensorKind k) {
  switch (k) {
    case TensorKind::kActivation: return "#4e79a7";
    case TensorKind::kSaved: return "#59a14f";
    case TensorKind::kMask: return "#edc948";
    case TensorKind::kGradient: return "#e15759";
    case TensorKind::kScratch: return "#b07aa1";
  }
  return "#999999";
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string Kb(int64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f KB", b / 1024.0);
  return buf;
}

// A "nice" tick step (1, 2, 5 x 10^k) giving about `target` ticks over `range`.
double NiceStep(double range, int target) {
  if (range <= 0) return 1;
  const double raw = range / target, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

const char* PhaseRegion(Phase p) {
  switch (p) {
    case Phase::kForward: return "forward";
    case Phase::kLoss:
    case Phase::kBackward: return "backward";
    case Phase::kUpdate: return "update";
  }
  return "";
}

}  // namespace

std::string PlanToSvg(const Program& prog, const MemoryPlan& plan, const std::string& title) {
  const Lifetimes& lt = plan.lifetimes;
  const int nops = std::max(1, lt.num_ops);
  const double top_bytes = std::max<double>(1.0, static_cast<double>(plan.arena_bytes));
  auto sx = [&](double op) { return kLeft + op * kPlotW / nops; };
  auto sy = [&](double bytes) { return kTop + kPlotH - bytes * kPlotH / top_bytes; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
    << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  char head[256];
  std::snprintf(head, sizeof(head), "arena %s, lower bound %s (x%.3f, %s), peak at %s",
                Kb(plan.arena_bytes).c_str(), Kb(plan.lower_bound_bytes).c_str(), plan.ratio(),
                HeuristicName(plan.heuristic), plan.peak_op_label.c_str());
  o << "<text x=\"" << kLeft << "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" << Escape(title)
    << "</text>\n<text x=\"" << kLeft << "\" y=\"44\">" << Escape(head) << "</text>\n";

  // Phase regions (contiguous runs of forward / backward / update ops).
  for (int i = 0; i < lt.num_ops;) {
    const std::string region = PhaseRegion(prog.ops[i].phase);
    int j = i;
    while (j < lt.num_ops && region == PhaseRegion(prog.ops[j].phase)) ++j;
    const char* fill = region == "forward" ? "#eef3fb" : region == "backward" ? "#fdf1e6" : "#eef8ee";
    o << "<rect x=\"" << Num(sx(i)) << "\" y=\"" << kTop << "\" width=\"" << Num(sx(j) - sx(i))
      << "\" height=\"" << kPlotH << "\" fill=\"" << fill << "\"/>\n";
    o << "<text x=\"" << Num((sx(i) + sx(j)) / 2) << "\" y=\"" << kTop - 8
      << "\" text-anchor=\"middle\" font-style=\"italic\">" << region << " (ops " << i << "-" << j - 1
      << ")</text>\n";
    i = j;
  }

  // One rectangle per buffer.
  for (const ArenaBuffer& b : lt.buffers) {
    if (b.last < b.first || b.bytes == 0) continue;
    const int64_t off = plan.offsets[b.root];
    const TensorKind kind = ClassifyTensor(prog, b.root);
    const double x0 = sx(b.first), x1 = std::max(sx(b.last + 1), x0 + 1.0);
    const double y0 = sy(static_cast<double>(off + b.bytes)), y1 = sy(static_cast<double>(off));
    std::string names;
    for (int id : b.members) names += (names.empty() ? "" : " = ") + prog.tensors[id].name;
    o << "<rect x=\"" << Num(x0) << "\" y=\"" << Num(y0) << "\" width=\"" << Num(x1 - x0) << "\" height=\""
      << Num(std::max(0.5, y1 - y0)) << "\" fill=\"" << KindColor(kind)
      << "\" fill-opacity=\"0.85\" stroke=\"white\" stroke-width=\"0.5\"><title>" << Escape(names) << " ("
      << TensorKindName(kind) << "): " << b.bytes << " B at offset " << off << ", ops " << b.first << "-"
      << b.last << "</title></rect>\n";
  }

  // Live bytes per op (the lower bound is its maximum).
  o << "<polyline fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" points=\"";
  for (int i = 0; i < lt.num_ops; ++i) {
    const double y = sy(static_cast<double>(lt.live_bytes[i]));
    o << Num(sx(i)) << "," << Num(y) << " " << Num(sx(i + 1)) << "," << Num(y) << " ";
  }
  o << "\"/>\n";
  const double lby = sy(static_cast<double>(plan.lower_bound_bytes));
  o << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + kPlotW << "\" y1=\"" << Num(lby) << "\" y2=\"" << Num(lby)
    << "\" stroke=\"black\" stroke-dasharray=\"6,4\"/>\n";
  // Peak op: a band over everything, a marker under the axis and its label below the plot.
  if (plan.peak_op >= 0) {
    const double x0 = sx(plan.peak_op), w = std::max(3.0, sx(plan.peak_op + 1) - x0);
    o << "<rect x=\"" << Num(x0) << "\" y=\"" << kTop << "\" width=\"" << Num(w) << "\" height=\"" << kPlotH
      << "\" fill=\"#ff0000\" fill-opacity=\"0.25\" stroke=\"#d00000\" stroke-width=\"1.5\"/>\n";
    const double px = x0 + w / 2, by = kTop + kPlotH;
    o << "<path d=\"M" << Num(px) << "," << Num(by + 22) << " l-6,10 h12 z\" fill=\"#d00000\"/>\n";
    const bool right = px < kLeft + kPlotW / 2;
    o << "<text x=\"" << Num(right ? px + 10 : px - 10) << "\" y=\"" << Num(by + 32) << "\" fill=\"#b00000\" text-anchor=\""
      << (right ? "start" : "end") << "\">peak " << Escape(plan.peak_op_label) << ": "
      << Kb(plan.lower_bound_bytes) << " live</text>\n";
  }

  // Axes, ticks, labels.
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotW << "\" height=\"" << kPlotH
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  const double xstep = std::max(1.0, NiceStep(nops, 12));
  for (double v = 0; v <= nops; v += xstep) {
    o << "<line x1=\"" << Num(sx(v)) << "\" x2=\"" << Num(sx(v)) << "\" y1=\"" << kTop + kPlotH << "\" y2=\""
      << kTop + kPlotH + 5 << "\" stroke=\"black\"/><text x=\"" << Num(sx(v)) << "\" y=\"" << kTop + kPlotH + 18
      << "\" text-anchor=\"middle\">" << static_cast<int>(v) << "</text>\n";
  }
  const double ystep = NiceStep(top_bytes / 1024.0, 10);
  for (double kb = 0; kb * 1024.0 <= top_bytes + 1e-9; kb += ystep) {
    const double y = sy(kb * 1024.0);
    o << "<line x1=\"" << kLeft - 5 << "\" x2=\"" << kLeft << "\" y1=\"" << Num(y) << "\" y2=\"" << Num(y)
      << "\" stroke=\"black\"/><text x=\"" << kLeft - 8 << "\" y=\"" << Num(y + 4) << "\" text-anchor=\"end\">"
      << kb << "</text>\n";
  }
  o << "<text x=\"" << kLeft + kPlotW / 2 << "\" y=\"" << kHeight - 18
    << "\" text-anchor=\"middle\">op index (schedule order)</text>\n";
  o << "<text transform=\"translate(28," << kTop + kPlotH / 2
    << ") rotate(-90)\" text-anchor=\"middle\">arena offset (KB)</text>\n";

  // Legend.
  const double lx = kLeft + kPlotW + 20;
  double ly = kTop + 10;
  o << "<text x=\"" << lx << "\" y=\"" << ly << "\" font-weight=\"bold\">tensor kind</text>\n";
  for (TensorKind k : {TensorKind::kActivation, TensorKind::kSaved, TensorKind::kMask, TensorKind::kGradient,
                       TensorKind::kScratch}) {
    ly += 22;
    o << "<rect x=\"" << lx << "\" y=\"" << ly - 11 << "\" width=\"14\" height=\"14\" fill=\"" << KindColor(k)
      << "\"/><text x=\"" << lx + 20 << "\" y=\"" << ly << "\">" << TensorKindName(k) << "</text>\n";
  }
  ly += 30;
  o << "<line x1=\"" << lx << "\" x2=\"" << lx + 14 << "\" y1=\"" << ly - 4 << "\" y2=\"" << ly - 4
    << "\" stroke=\"black\" stroke-width=\"1.2\"/><text x=\"" << lx + 20 << "\" y=\"" << ly
    << "\">live bytes</text>\n";
  ly += 22;
  o << "<line x1=\"" << lx << "\" x2=\"" << lx + 14 << "\" y1=\"" << ly - 4 << "\" y2=\"" << ly - 4
    << "\" stroke=\"black\" stroke-dasharray=\"4,3\"/><text x=\"" << lx + 20 << "\" y=\"" << ly
    << "\">lower bound</text>\n";
  ly += 22;
  o << "<rect x=\"" << lx << "\" y=\"" << ly - 11 << "\" width=\"14\" height=\"14\" fill=\"#ff0000\" "
    << "fill-opacity=\"0.18\" stroke=\"#d00000\"/><text x=\"" << lx + 20 << "\" y=\"" << ly
    << "\">peak op</text>\n";
  ly += 22;
  o << "<rect x=\"" << lx << "\" y=\"" << ly - 11 << "\" width=\"14\" height=\"14\" fill=\"#eef3fb\" "
    << "stroke=\"#ccc\"/><text x=\"" << lx + 20 << "\" y=\"" << ly << "\">forward</text>\n";
  ly += 22;
  o << "<rect x=\"" << lx << "\" y=\"" << ly - 11 << "\" width=\"14\" height=\"14\" fill=\"#fdf1e6\" "
    << "stroke=\"#ccc\"/><text x=\"" << lx + 20 << "\" y=\"" << ly << "\">backward</text>\n";
  ly += 22;
  o << "<rect x=\"" << lx << "\" y=\"" << ly - 11 << "\" width=\"14\" height=\"14\" fill=\"#eef8ee\" "
    << "stroke=\"#ccc\"/><text x=\"" << lx + 20 << "\" y=\"" << ly << "\">update</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace tte
