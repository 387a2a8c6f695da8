// Training-curve SVG (see training_curves.h). Plain SVG 1.1, no scripts or external resources.
#include "runtime/training_curves.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tte {
namespace {

std::string Fmt(const char* f, double v) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

}  // namespace

std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& ep, const std::string& title) {
  const double W = 720, H = 420, L = 70, R = 70, T = 50, Bm = 50;
  const double pw = W - L - R, ph = H - T - Bm;
  const int n = static_cast<int>(ep.size());
  double max_loss = 1e-6;
  for (const auto& e : ep) max_loss = std::max(max_loss, e.train_loss);
  max_loss *= 1.1;
  auto x = [&](double epoch) { return L + (n <= 1 ? pw / 2 : pw * (epoch - 1) / (n - 1)); };
  auto yl = [&](double loss) { return T + ph * (1 - loss / max_loss); };
  auto ya = [&](double acc) { return T + ph * (1 - acc / 100.0); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << Escape(title) << "</text>\n";
  for (int i = 0; i <= 5; ++i) {  // grid and both axes' ticks
    double y = T + ph * i / 5.0;
    s << "<line x1=\"" << L << "\" y1=\"" << y << "\" x2=\"" << L + pw << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n";
    s << "<text x=\"" << L - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\" fill=\"#c33\">"
      << Fmt("%.2f", max_loss * (1 - i / 5.0)) << "</text>\n";
    s << "<text x=\"" << L + pw + 6 << "\" y=\"" << y + 4 << "\" fill=\"#36c\">" << Fmt("%.0f%%", 100 * (1 - i / 5.0)) << "</text>\n";
  }
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << pw << "\" height=\"" << ph << "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (int i = 0; i < n; ++i)
    s << "<text x=\"" << x(ep[i].epoch) << "\" y=\"" << T + ph + 16 << "\" text-anchor=\"middle\">" << ep[i].epoch << "</text>\n";
  s << "<text x=\"" << L + pw / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">epoch</text>\n";
  s << "<text transform=\"translate(18," << T + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#c33\">train loss</text>\n";
  s << "<text transform=\"translate(" << W - 14 << "," << T + ph / 2 << ") rotate(90)\" text-anchor=\"middle\" fill=\"#36c\">top-1</text>\n";
  auto line = [&](auto value, auto ymap, const char* color, const char* dash, bool only_valid) {
    std::string pts;
    for (const auto& e : ep) {
      double v = value(e);
      if (only_valid && v < 0) continue;
      pts += Fmt("%.1f", x(e.epoch)) + "," + Fmt("%.1f", ymap(v)) + " ";
    }
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" stroke-dasharray=\"" << dash << "\" points=\"" << pts << "\"/>\n";
    for (const auto& e : ep) {
      double v = value(e);
      if (only_valid && v < 0) continue;
      s << "<circle cx=\"" << x(e.epoch) << "\" cy=\"" << ymap(v) << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    }
  };
  line([](const EpochMetrics& e) { return e.train_loss; }, yl, "#c33", "none", false);
  line([](const EpochMetrics& e) { return e.train_acc; }, ya, "#36c", "5,4", false);
  line([](const EpochMetrics& e) { return e.eval_acc; }, ya, "#36c", "none", true);
  const double lx = L + 10, ly = T + 14;  // legend
  s << "<rect x=\"" << lx - 4 << "\" y=\"" << ly - 12 << "\" width=\"200\" height=\"54\" fill=\"white\" stroke=\"#999\"/>\n";
  s << "<line x1=\"" << lx << "\" y1=\"" << ly - 4 << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly - 4 << "\" stroke=\"#c33\" stroke-width=\"2\"/><text x=\"" << lx + 30 << "\" y=\"" << ly << "\">train loss</text>\n";
  s << "<line x1=\"" << lx << "\" y1=\"" << ly + 12 << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly + 12 << "\" stroke=\"#36c\" stroke-width=\"2\" stroke-dasharray=\"5,4\"/><text x=\"" << lx + 30 << "\" y=\"" << ly + 16 << "\">train top-1 (augmented)</text>\n";
  s << "<line x1=\"" << lx << "\" y1=\"" << ly + 28 << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly + 28 << "\" stroke=\"#36c\" stroke-width=\"2\"/><text x=\"" << lx + 30 << "\" y=\"" << ly + 32 << "\">eval top-1</text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace tte
