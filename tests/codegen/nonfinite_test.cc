// A sample whose loss is not finite updates nothing, on the host replay, in the generated C built for the host
// (codegen_nonfinite_test, label "mcu") and under QEMU on Cortex-M7 (NonFiniteQemu.*, labels "mcu;firmware").
//
// The repository's own tiny model (tests/support/sample_files.h, 3 classes, 8x8 input) is trained fully with a
// head whose bias is {-3e38, +3e38, 0}: a sample labelled 0 has the loss lse - (-3e38) = +inf, samples labelled
// 1 or 2 have finite losses (0 and about 3e38). Steps with label 0 must be skipped and change no learned byte:
// the state after training on {0, 1, 0, 2} equals, checksum for checksum, the state after training on {1, 2}
// only (the stochastic-rounding stream included), and the generated C (host and MCU) agrees bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "codegen/device_project.h"
#include "codegen/firmware_run.h"
#include "codegen/project.h"
#include "compiler/scheme.h"
#include "core/file_io.h"
#include "runtime/replay.h"
#include "support/sample_files.h"
#include "support/test_support.h"

namespace tte::codegen {
namespace {

struct Fixture {
  DeviceProgram dp;
  std::vector<int8_t> samples;  // 4 samples
  std::vector<int32_t> labels{0, 1, 0, 2};
};

void Build(Fixture* f, const std::string& dir) {
  const auto bytes = testing::TinyModelFile();
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.pkl", std::string(bytes.begin(), bytes.end())).ok());
  auto m = testing::LoadGraph(dir + "/tiny.pkl");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto s = BuiltinScheme("full");
  ASSERT_TRUE(s.ok());
  TrainOptions opt;
  opt.num_classes = 3;
  const int features = 8;
  for (int i = 0; i < 3 * features; ++i) opt.head_weight.push_back(0.01f * static_cast<float>(i % 5 - 2));
  opt.head_bias = {-3e38f, 3e38f, 0.0f};
  auto dp = CompileDeviceProgram(*m, *s, opt, -1, -1, 8 * 1024);
  ASSERT_TRUE(dp.ok()) << dp.status().ToString();
  f->dp = std::move(*dp);
  const Program& prog = f->dp.device.compiled.program;
  std::mt19937 rng(7);
  f->samples.resize(4 * static_cast<size_t>(prog.tensors[prog.input].bytes()));
  for (auto& b : f->samples) b = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
}

ReplayResult Replay(const Fixture& f, const std::vector<size_t>& which) {
  const Program& prog = f.dp.device.compiled.program;
  const size_t in = static_cast<size_t>(prog.tensors[prog.input].bytes());
  std::vector<int8_t> x;
  std::vector<int32_t> y;
  for (size_t i : which) {
    x.insert(x.end(), f.samples.begin() + static_cast<std::ptrdiff_t>(i * in),
             f.samples.begin() + static_cast<std::ptrdiff_t>((i + 1) * in));
    y.push_back(f.labels[i]);
  }
  ReplayOptions ro;
  ro.lr = 0.05f;
  ro.rng_seed = 12345;
  auto r = ReplayTraining(prog, f.dp.device.plan.arena_bytes, x, y, ro);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ReplayResult{};
}

// Generates the QEMU harness project for the 4 samples; returns the host replay of all 4.
ReplayResult Generate(Fixture* f, const std::string& dir) {
  Build(f, dir);
  ProjectConfig cfg;
  cfg.info.generated_by = "tte (test)";
  cfg.info.command = "nonfinite_test";
  cfg.info.model = "tiny";
  cfg.info.scheme = "full";
  cfg.info.lr = 0.05f;
  cfg.info.rng_seed = 12345;
  cfg.samples = f->samples;
  cfg.labels = f->labels;
  cfg.samples_source = "random";
  auto project = GenerateProject(f->dp.device.compiled.program, f->dp.device.plan, cfg);
  EXPECT_TRUE(project.ok()) << project.status().ToString();
  if (project.ok()) {
    EXPECT_TRUE(WriteProject(*project, dir + "/p").ok());
  }
  return Replay(*f, {0, 1, 2, 3});
}

void ExpectAgrees(const FirmwareRun& run, const ReplayResult& host) {
  ASSERT_EQ(run.exit_status, 0) << run.output;
  ASSERT_EQ(run.steps.size(), 4u) << run.output;
  for (size_t i = 0; i < 4; ++i) {
    uint32_t hb;
    std::memcpy(&hb, &host.losses[i], sizeof hb);
    EXPECT_EQ(run.steps[i].loss_bits, hb) << "step " << i;
    EXPECT_EQ(run.steps[i].skipped, host.skipped[i]) << "step " << i << "\n" << run.output;
  }
  EXPECT_EQ(run.skipped_steps, 2) << run.output;
  EXPECT_EQ(run.checksum_initial, host.initial_checksum);
  EXPECT_EQ(run.checksum, host.checksum) << run.output;
}

TEST(NonFinite, HostReplaySkipsTheWholeUpdate) {
  Fixture f;
  Build(&f, testing::TempDir("nonfinite_replay"));
  if (HasFatalFailure()) return;
  const ReplayResult all = Replay(f, {0, 1, 2, 3});
  ASSERT_EQ(all.skipped, (std::vector<bool>{true, false, true, false}));
  EXPECT_FALSE(std::isfinite(all.losses[0]));
  EXPECT_TRUE(std::isfinite(all.losses[1]));
  EXPECT_TRUE(std::isfinite(all.losses[3]));
  // A skipped step leaves every learned byte as it was ...
  EXPECT_EQ(Replay(f, {0}).checksum, all.initial_checksum);
  // ... and the run equals the run without the skipped samples (optimizer and rounding stream included).
  const ReplayResult good = Replay(f, {1, 3});
  EXPECT_EQ(all.checksum, good.checksum);
  EXPECT_NE(all.checksum, all.initial_checksum) << "the finite steps changed nothing: the test would prove nothing";
}

TEST(NonFinite, GeneratedCOnTheHostAgrees) {
  Fixture f;
  const std::string dir = testing::TempDir("nonfinite_host");
  const ReplayResult host = Generate(&f, dir);
  if (HasFatalFailure()) return;
  auto run = BuildAndRunHost(dir + "/p");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->build_log.find("warning"), std::string::npos) << run->build_log;
  ExpectAgrees(*run, host);
}

TEST(NonFiniteQemu, CortexM7Agrees) {
  Fixture f;
  const std::string dir = testing::TempDir("nonfinite_qemu");
  const ReplayResult host = Generate(&f, dir);
  if (HasFatalFailure()) return;
  FirmwareOptions fo;
  fo.project_dir = dir + "/p";
  fo.count = false;
  fo.timeout_seconds = 300;
  auto run = BuildAndRunFirmware(fo);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ExpectAgrees(*run, host);
}

}  // namespace
}  // namespace tte::codegen
