// Progress bar (see progress.h).
#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace tte {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(2)) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::Update(int64_t done, const std::string& info) {
  if (!enabled_ || total_ <= 0) return;
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - start_).count();
  double frac = static_cast<double>(done) / static_cast<double>(total_);
  if (tty_) {
    if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    const int width = 28;
    int filled = static_cast<int>(frac * width);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    double eta = done > 0 ? secs / frac - secs : 0;
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %5.1f%% %5.0fs eta %4.0fs %s\033[K", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), 100 * frac, secs, eta, info.c_str());
    std::fflush(stderr);
  } else {
    int decile = static_cast<int>(frac * 10);
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s %lld/%lld (%.0f%%) %.0fs %s\n", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), 100 * frac, secs, info.c_str());
  }
}

void Progress::Finish(const std::string& info) {
  if (!enabled_) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s done: %lld in %.1fs %s\n", label_.c_str(), static_cast<long long>(total_), secs, info.c_str());
}

}  // namespace tte
