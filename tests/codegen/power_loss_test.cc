// Power-loss trials of the training library's save (issue 16), under QEMU mps2-an500 (labels mcu;firmware).
//
// tests/codegen/library/powerloss.c trains and saves the learned state 4 times through a simulated flash that
// is mirrored, unit by unit, into a semihosting file. A golden run gives the instruction counts at which each
// save starts and ends (mcu_mark) and the state after each. Each trial reruns from an erased flash and cuts the
// power (firmware/tools/powercut.c: QEMU ends after exactly N instructions) at N drawn uniformly across the
// saves' windows (+-64 instructions; every other trial in a window's last 3,000), reboots with the flash as it was left, restores, and must find the state
// of the last complete save or of the one before, bit for bit (FNV-1a 64 of the whole state block; sequence 0
// = the initial state). Trials: TTE_POWER_LOSS_TRIALS (default 40 in CI; bench/power_loss.sh runs 1000).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "codegen/device_project.h"
#include "codegen/firmware_run.h"
#include "codegen/library_emitter.h"
#include "compiler/scheme.h"
#include "core/file_io.h"
#include "support/sample_files.h"
#include "support/test_support.h"

namespace tte::codegen {
namespace {

namespace fs = std::filesystem;

struct Boot {
  int status = -1;
  long seq = -1;
  std::string state;
};

bool ParseLine(const std::string& out, const std::string& start, Boot* b) {
  const size_t at = out.find(start);
  if (at == std::string::npos) return false;
  std::istringstream in(out.substr(at, out.find('\n', at) - at));
  std::string tok;
  while (in >> tok) {
    if (tok.rfind("status=", 0) == 0) b->status = std::atoi(tok.c_str() + 7);
    if (tok.rfind("seq=", 0) == 0) b->seq = std::atol(tok.c_str() + 4);
    if (tok.rfind("state=", 0) == 0) b->state = tok.substr(6);
  }
  return true;
}

TEST(LibraryArm, PowerLossDuringSaves) {
  const char* env = std::getenv("TTE_POWER_LOSS_TRIALS");
  const int trials = env ? std::atoi(env) : 40;
  const std::string dir = testing::TempDir("library_power_loss");
  // ---- the library (tiny model, full training) and the firmware
  const auto bytes = testing::TinyModelFile(1);
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.pkl", std::string(bytes.begin(), bytes.end())).ok());
  auto g = testing::LoadGraph(dir + "/tiny.pkl");
  ASSERT_TRUE(g.ok());
  auto s = BuiltinScheme("full");
  ASSERT_TRUE(s.ok());
  TrainOptions opt;
  opt.num_classes = 3;
  auto dp = CompileDeviceProgram(*g, *s, opt, -1, -1, 8 * 1024);
  ASSERT_TRUE(dp.ok()) << dp.status().ToString();
  LibraryConfig lc;
  lc.prefix = "kws";
  lc.info.generated_by = "tte (test)";
  lc.info.lr = 0.05f;
  lc.info.rng_seed = 99;
  auto lib = GenerateLibrary(dp->device.compiled.program, dp->device.plan, lc);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  ASSERT_TRUE(WriteLibrary(*lib, dir + "/kws").ok());
  std::string out;
  const std::string srcs = testing::SourcePath("tests/codegen/library/powerloss.c") + " " + dir + "/kws/kws_model.c " +
                           dir + "/kws/flashsim/tte_flashsim.c $(wildcard " + dir + "/kws/kernels/*.c)";
  const std::string make = "make -s -f " + testing::SourcePath("firmware/Makefile.template") + " NAME=powerloss B=" +
                           dir + "/build 'SRCS=" + srcs + "' 'INCLUDES=" + dir + "/kws' RAM_BUDGET=256K TIMEOUT=60";
  ASSERT_EQ(RunShell(make + " 2>&1", &out), 0) << out;
  std::string qemu;
  ASSERT_EQ(RunShell(make + " print-run-cmd", &qemu), 0) << qemu;
  while (!qemu.empty() && (qemu.back() == '\n' || qemu.back() == '\r')) qemu.pop_back();
  qemu = qemu.substr(qemu.rfind('\n') == std::string::npos ? 0 : qemu.rfind('\n') + 1);
  std::string mark;
  ASSERT_EQ(RunShell("arm-none-eabi-nm " + dir + "/build/powerloss.elf | awk '$3==\"mcu_mark\"{print \"0x\"$1}'", &mark),
            0);
  while (!mark.empty() && mark.back() == '\n') mark.pop_back();
  ASSERT_FALSE(mark.empty());
  ASSERT_EQ(RunShell("gcc -O2 -shared -fPIC -fvisibility=hidden -o " + dir + "/powercut.so " +
                         testing::SourcePath("firmware/tools/powercut.c") + " 2>&1",
                     &out),
            0)
      << out;
  const std::string run_dir = dir + "/run";
  auto boot = [&](uint64_t at, std::string* o) {
    return RunShell("cd " + run_dir + " && " + qemu + " -plugin " + dir + "/powercut.so,at=" + std::to_string(at) +
                        ",mark=" + mark + " -d plugin 2>&1",
                    o);
  };
  auto fresh = [&] {
    fs::remove_all(run_dir);
    fs::create_directories(run_dir);
  };

  // ---- golden run: the save windows and the state after each save
  fresh();
  ASSERT_EQ(boot(0, &out), 0) << out;
  std::map<long, std::string> state;  // by sequence number; 0 = initial
  Boot b0;
  ASSERT_TRUE(ParseLine(out, "restore ", &b0)) << out;
  ASSERT_EQ(b0.status, 4) << "an erased flash must give KWS_NO_STATE\n" << out;
  state[0] = b0.state;
  std::vector<std::pair<uint64_t, uint64_t>> windows;
  std::istringstream lines(out);
  std::string line;
  std::vector<uint64_t> marks;
  while (std::getline(lines, line)) {
    if (line.rfind("powercut: mark ", 0) == 0) marks.push_back(std::stoull(line.substr(line.find("insns=") + 6)));
    Boot b;
    if (line.rfind("saved ", 0) == 0 && ParseLine(line, "saved ", &b)) {
      ASSERT_EQ(b.status, 0) << line;
      state[b.seq] = b.state;
    }
  }
  ASSERT_EQ(marks.size(), 8u) << out;
  ASSERT_EQ(state.size(), 5u) << out;
  uint64_t total = 0;
  for (size_t k = 0; k < 4; ++k) {
    windows.push_back({marks[2 * k] - 64, marks[2 * k + 1] + 64});
    total += windows.back().second - windows.back().first;
  }
  std::printf("[ powerloss ] state block %lld B, saves of %llu, %llu, %llu, %llu instructions\n",
              static_cast<long long>(lib->state_bytes), static_cast<unsigned long long>(marks[1] - marks[0]),
              static_cast<unsigned long long>(marks[3] - marks[2]), static_cast<unsigned long long>(marks[5] - marks[4]),
              static_cast<unsigned long long>(marks[7] - marks[6]));

  // ---- trials
  std::mt19937_64 rng(20261203);
  int ok_new = 0, ok_old = 0, bad = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < trials; ++t) {
    // Even trials: uniform across the 4 windows; odd trials: uniform over the last 3,000 instructions of a
    // window (the header, programmed last, makes the new save valid there).
    uint64_t at = 0;
    size_t k = 0;
    if (t % 2 == 0) {
      uint64_t r = rng() % total;
      for (; k < 4; ++k) {
        const uint64_t len = windows[k].second - windows[k].first;
        if (r < len) {
          at = windows[k].first + r;
          break;
        }
        r -= len;
      }
    } else {
      k = rng() % 4;
      at = windows[k].second - rng() % 3000;
    }
    fresh();
    const int rc = boot(at, &out);
    ASSERT_EQ(rc, 42) << "trial " << t << " (cut at " << at << ") did not cut the power:\n" << out;
    ASSERT_TRUE(WriteFileAtomic(run_dir + "/verify", std::string("1")).ok());
    ASSERT_EQ(boot(0, &out), 0) << out;
    Boot b;
    ASSERT_TRUE(ParseLine(out, "restore ", &b)) << out;
    // Save k (0-based) writes sequence k+1 over the slot of sequence k-1: the result is k or k+1.
    const long before = static_cast<long>(k), after = static_cast<long>(k) + 1;
    const bool good = (b.seq == before || b.seq == after) && state.count(b.seq) && state[b.seq] == b.state &&
                      (b.seq == 0 ? b.status == 4 : b.status == 0);
    if (!good) {
      ++bad;
      ADD_FAILURE() << "trial " << t << ": cut at " << at << " during save " << k << ": restored status " << b.status
                    << " seq " << b.seq << " state " << b.state;
    } else {
      (b.seq == after ? ok_new : ok_old) += 1;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ powerloss ] %d trials: %d restored the new save, %d the previous one, %d corrupt or mixed "
              "(%.1f s, %.2f s per trial)\n",
              trials, ok_new, ok_old, bad, secs, trials ? secs / trials : 0.0);
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace tte::codegen
