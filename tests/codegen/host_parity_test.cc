// Host parity of the generated C (no QEMU, fast): the project tte codegen writes is compiled with the host's
// gcc (-O2 -ffp-contract=off, through its Makefile's `host` target, -Wall -Wextra clean) and run; its
// per-step losses and its state checksum must equal the host Executor's (ReplayTraining) bit for bit. The
// cases cover every op kind the executor maps: windowed patch convs, in-place depthwise forward and input
// gradient, residual adds, masks, gathers, the head, the loss, QAS-SGD in device mode with stochastic and
// nearest rounding, master mode with momentum, and no in-place at all. Also: what the device refuses.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "codegen/device_project.h"
#include "codegen/firmware_run.h"
#include "codegen/project.h"
#include "compiler/scheme.h"
#include "model/pkl_io.h"
#include "runtime/export.h"
#include "runtime/replay.h"
#include "support/test_support.h"

namespace tte::codegen {
namespace {

struct Case {
  std::string name;
  std::string model;        // under ../shared/models
  std::string scheme_name;  // in ../shared/reference/schemes.json
  int patch_grid = -1;
  std::function<void(TrainOptions*)> tweak;
  int samples = 3;
  bool expect_windowed = false;
  // Build the generated C with AddressSanitizer + UBSan: its global redzones catch any kernel access outside
  // the arena or a parameter array.
  bool sanitize = false;
};

void ExpectHostParity(const Case& c) {
  auto m = testing::LoadGraph(testing::SharedPath("models/" + c.model + ".pkl"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), c.scheme_name, c.model);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  DatasetSpec spec;
  spec.kind = "fmnist";
  spec.split = "test";
  spec.max_samples = c.samples;
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  TrainOptions opt;
  opt.num_classes = (*ds)->num_classes();
  if (c.tweak) c.tweak(&opt);
  HeadFromGraph(*m, opt.num_classes, &opt.head_weight, &opt.head_bias);
  auto dp = CompileDeviceProgram(*m, *s, opt, c.patch_grid, /*budget_bytes=*/-1, 8 * 1024);
  ASSERT_TRUE(dp.ok()) << dp.status().ToString();
  const Program& prog = dp->device.compiled.program;
  bool windowed = false;
  for (const Op& op : prog.ops) windowed |= op.windowed;
  EXPECT_EQ(windowed, c.expect_windowed);
  auto samples = TakeSamples(**ds, spec, c.samples, SampleFormat::Rgb(prog.resolution));
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();

  ProjectConfig cfg;
  cfg.info.generated_by = "tte (test)";
  cfg.info.command = "host_parity_test " + c.name;
  cfg.info.model = c.model;
  cfg.info.scheme = c.scheme_name;
  cfg.info.lr = 0.05f;
  cfg.info.rng_seed = 0x2545F491u;
  cfg.samples = samples->data;
  cfg.labels = samples->labels;
  cfg.samples_source = samples->source;
  auto project = GenerateProject(prog, dp->device.plan, cfg);
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  const std::string dir = testing::TempDir("codegen_" + c.name);
  ASSERT_TRUE(WriteProject(*project, dir).ok());

  auto c_run = BuildAndRunHost(
      dir, "", c.sanitize ? "HOSTCC='cc -g -fsanitize=address,undefined -fno-sanitize-recover=all' HOST_OPT=-O1" : "");
  ASSERT_TRUE(c_run.ok()) << c_run.status().ToString();
  EXPECT_EQ(c_run->build_log.find("warning"), std::string::npos) << c_run->build_log;
  ASSERT_EQ(c_run->exit_status, 0) << c_run->output;

  ReplayOptions ro;
  ro.lr = cfg.info.lr;
  ro.rng_seed = cfg.info.rng_seed;
  auto host = ReplayTraining(prog, dp->device.plan.arena_bytes, samples->data, samples->labels, ro);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  ASSERT_EQ(c_run->steps.size(), host->losses.size()) << c_run->output;
  for (size_t i = 0; i < host->losses.size(); ++i) {
    uint32_t hb;
    std::memcpy(&hb, &host->losses[i], sizeof hb);
    EXPECT_EQ(c_run->steps[i].loss_bits, hb) << "step " << i << ": generated C " << c_run->steps[i].loss
                                             << ", Executor " << host->losses[i];
    EXPECT_EQ(c_run->steps[i].label, samples->labels[i]);
  }
  EXPECT_EQ(c_run->checksum_initial, host->initial_checksum);
  ASSERT_TRUE(c_run->has_checksum) << c_run->output;
  EXPECT_EQ(c_run->checksum, host->checksum) << c_run->output;
  EXPECT_NE(host->checksum, host->initial_checksum) << "training changed no state: the test would prove nothing";
}

TEST(HostParity, Mcunet49kbAutoPatches) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  ExpectHostParity({"mcunet_49kb", "mcunet-5fps", "49kb", -1, nullptr, 3, true});
}

TEST(HostParity, McunetSparse100kbTwoByTwoNearestWithoutQas) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  ExpectHostParity({"mcunet_sparse_nearest", "mcunet-5fps", "sparse_100kb", 2,
                    [](TrainOptions* o) {
                      o->rounding = TTE_ROUND_NEAREST;
                      o->qas = false;
                    },
                    2, true});
}

TEST(HostParity, Mbv2_99kbNoPatchesNoInPlace) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  ExpectHostParity({"mbv2_99kb_plain", "mbv2-w0.35", "99kb", 0, [](TrainOptions* o) { o->in_place = false; }, 2,
                    false});
}

TEST(HostParity, Mcunet49kbUnderAddressSanitizer) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  ExpectHostParity({"mcunet_49kb_asan", "mcunet-5fps", "49kb", -1, nullptr, 2, true, /*sanitize=*/true});
}

TEST(HostParity, Mbv2_49kbMasterStoreWithMomentum) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  ExpectHostParity({"mbv2_49kb_master", "mbv2-w0.35", "49kb", 3,
                    [](TrainOptions* o) {
                      o->store = WeightStore::kMaster;
                      o->momentum = 0.9f;
                    },
                    3, true});
}

TEST(DeviceRefuses, DeferredUpdates) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  ASSERT_TRUE(m.ok());
  auto s = BuiltinScheme("last:4");
  ASSERT_TRUE(s.ok());
  TrainOptions opt;
  opt.fuse_updates = false;
  auto dp = CompileDeviceProgram(*m, *s, opt, 0, -1, 8192);
  ASSERT_FALSE(dp.ok());
  EXPECT_EQ(dp.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(dp.status().message().find("fused"), std::string::npos) << dp.status().message();
  // The emitter itself refuses such a program too, naming the op.
  auto ct = CompileTraining(*m, *s, opt);
  ASSERT_TRUE(ct.ok());
  auto plan = PlanMemory(&ct->program);
  ASSERT_TRUE(plan.ok());
  auto em = EmitModel(ct->program, *plan, {});
  ASSERT_FALSE(em.ok());
  EXPECT_NE(em.status().message().find("deferred"), std::string::npos) << em.status().message();
}

TEST(DeviceRefuses, OverBudgetNamingTheLargestUsers) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  ASSERT_TRUE(m.ok());
  auto s = BuiltinScheme("full");
  ASSERT_TRUE(s.ok());
  auto dp = CompileDeviceProgram(*m, *s, TrainOptions{}, -1, 256 * 1024, 8192);
  ASSERT_FALSE(dp.ok());
  EXPECT_EQ(dp.status().code(), StatusCode::kOutOfMemory);
  EXPECT_NE(dp.status().message().find("Largest SRAM users"), std::string::npos) << dp.status().message();
}

}  // namespace
}  // namespace tte::codegen
