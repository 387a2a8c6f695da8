// The contribution figure of an analysis as a self-contained SVG (AnalysisSvg, analysis.h): accuracy gain over
// the frozen-backbone baseline per layer, one line per weight ratio, and the bias gain plotted at the first
// layer whose bias trains (layer n - k for the last k biases), like the MCUNetV3 paper's contribution plot.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "search/analysis.h"

namespace tte {

std::string AnalysisSvg(const AnalysisTable& t, const std::string& title) {
  const double W = 900, H = 420, L = 70, R = 170, T = 40, B = 50;
  const int n = std::max(1, t.layers);
  double lo = 0, hi = 1;
  for (const RunResult& r : t.bias) lo = std::min(lo, r.top1 - t.baseline), hi = std::max(hi, r.top1 - t.baseline);
  for (const RunResult& r : t.weights) lo = std::min(lo, r.top1 - t.baseline), hi = std::max(hi, r.top1 - t.baseline);
  lo = std::floor(lo), hi = std::ceil(hi);
  auto X = [&](double layer) { return L + (W - L - R) * (n == 1 ? 0.5 : layer / (n - 1)); };
  auto Y = [&](double gain) { return T + (H - T - B) * (hi - gain) / (hi - lo); };
  std::string s;
  char buf[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    s += buf;
  };
  add("<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' font-family='sans-serif' font-size='12'>\n", W, H);
  add("<rect width='100%%' height='100%%' fill='white'/>\n<text x='%g' y='22' font-size='15'>", L);
  for (char c : title) s += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  s += "</text>\n";
  const double step = (hi - lo) > 20 ? 5 : (hi - lo) > 8 ? 2 : 1;
  for (double g = std::ceil(lo / step) * step; g <= hi + 1e-9; g += step) {
    add("<line x1='%g' x2='%g' y1='%.1f' y2='%.1f' stroke='%s'/>\n", L, W - R, Y(g), Y(g), g == 0 ? "#444" : "#ddd");
    add("<text x='%g' y='%.1f' text-anchor='end'>%+g</text>\n", L - 6, Y(g) + 4, g);
  }
  const int xstep = n > 40 ? 5 : n > 16 ? 2 : 1;
  for (int i = 0; i < n; i += xstep) add("<text x='%.1f' y='%g' text-anchor='middle'>%d</text>\n", X(i), H - B + 16, i);
  add("<text x='%g' y='%g' text-anchor='middle'>layer (as tte info numbers them)</text>\n", (L + W - R) / 2, H - 12);
  add("<text transform='translate(18,%g) rotate(-90)' text-anchor='middle'>top-1 gain over the head only (points)</text>\n",
      (T + H - B) / 2);
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"};
  int ci = 0;
  double ly = T + 10;
  auto legend = [&](const char* color, const std::string& label, bool dashed) {
    add("<line x1='%g' x2='%g' y1='%g' y2='%g' stroke='%s' stroke-width='2'%s/>", W - R + 14, W - R + 40, ly, ly, color,
        dashed ? " stroke-dasharray='5,3'" : "");
    add("<text x='%g' y='%g'>%s</text>\n", W - R + 46, ly + 4, label.c_str());
    ly += 18;
  };
  for (double ratio : t.ratios) {
    const char* color = colors[ci++ % 7];
    std::string pts;
    for (const RunResult& r : t.weights)
      if (r.run.ratio == ratio) {
        std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(r.run.layer), Y(r.top1 - t.baseline));
        pts += buf;
        add("<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n", X(r.run.layer), Y(r.top1 - t.baseline), color);
      }
    add("<polyline fill='none' stroke='%s' stroke-width='1.5' points='%s'/>\n", color, pts.c_str());
    std::snprintf(buf, sizeof buf, "weights, ratio %g", ratio);
    legend(color, buf, false);
  }
  if (!t.bias.empty()) {
    std::string pts;
    for (const RunResult& r : t.bias) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(n - r.run.n_bias), Y(r.top1 - t.baseline));
      pts += buf;
    }
    add("<polyline fill='none' stroke='black' stroke-width='1.5' stroke-dasharray='5,3' points='%s'/>\n", pts.c_str());
    legend("black", "biases from layer", true);
  }
  add("<text x='%g' y='%g' fill='#444'>head only: %.2f%%</text>\n", W - R + 14, ly + 10, t.baseline);
  s += "</svg>\n";
  return s;
}

}  // namespace tte
