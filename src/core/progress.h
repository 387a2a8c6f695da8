// Progress: a progress bar on stderr for long work (training epochs, evaluation). On a terminal it redraws
// in place (counts, percent, elapsed, ETA, a caller-supplied info string); otherwise it prints one line
// every 10%, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tte {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  // `info` is shown after the counts, e.g. "loss 0.53 acc 81.2%".
  void Update(int64_t done, const std::string& info = "");
  void Finish(const std::string& info = "");

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tte
