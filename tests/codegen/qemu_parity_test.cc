// The whole device chain under QEMU (CTest labels "mcu" and "firmware"): `tte mcu-run --json` generates the
// project, cross-compiles it with arm-none-eabi-gcc into a 256 KB RAM region, trains 10 steps on Cortex-M7
// (mps2-an500) with exact instruction counts, and compares with the host Executor. Each case must link under
// the 256 KB region and end with checksum MCU = host. Like the firmware tests, these FAIL (never skip) when
// the ARM toolchain or QEMU is missing; they skip visibly only when ../shared (the paper's models) or the
// default backbone is absent. About 20-40 s per case under QEMU (~1 G instructions/s unloaded).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/npy.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

nlohmann::json McuRun(const std::string& model_path, const std::string& args, int expect_exit = 0,
                      std::string* output = nullptr, const std::string& budget = "256KB") {
  const std::string cmd = testing::TteBinary() + " mcu-run --json --budget " + budget + " --samples 10 --model " +
                          model_path + " " + args;
  const auto r = testing::RunCommand(cmd);
  if (output) *output = r.output;
  EXPECT_EQ(r.exit_code, expect_exit) << cmd << "\n" << r.output;
  const size_t brace = r.output.find('{');
  if (expect_exit != 0 || brace == std::string::npos) return nlohmann::json();
  auto j = nlohmann::json::parse(r.output.substr(brace), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

void ExpectDeviceRun(const nlohmann::json& j) {
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["parity"].get<bool>()) << j.dump(2);
  EXPECT_EQ(j["checksum_mcu"], j["checksum_host"]);
  EXPECT_EQ(j["steps"], 10);
  ASSERT_EQ(j["per_step"].size(), 10u);
  EXPECT_EQ(j["link_ram_budget_bytes"], 256 * 1024);
  EXPECT_LE(j["link_ram_bytes"].get<int64_t>(), 256 * 1024);
  EXPECT_LE(j["planned_peak_sram_bytes"].get<int64_t>(), 256 * 1024);
  EXPECT_GT(j["insns_steady_step"].get<int64_t>(), 0);
  EXPECT_GT(j["stack_used_bytes"].get<int64_t>(), 0);
  for (const auto& s : j["per_step"]) EXPECT_EQ(s["loss_mcu"], s["loss_host"]);
  std::printf("[ parity   ] %s / %s: link RAM %lld B, planned %lld B, flash %lld B (%lld without samples), "
              "%lld instructions per step, checksum %s\n",
              j["model"].get<std::string>().c_str(), j["scheme"].get<std::string>().c_str(),
              static_cast<long long>(j["link_ram_bytes"].get<int64_t>()),
              static_cast<long long>(j["planned_peak_sram_bytes"].get<int64_t>()),
              static_cast<long long>(j["flash_bytes"].get<int64_t>()),
              static_cast<long long>(j["flash_bytes_without_samples"].get<int64_t>()),
              static_cast<long long>(j["insns_steady_step"].get<int64_t>()), j["checksum_mcu"].get<std::string>().c_str());
}

std::string Reference(const std::string& name) {
  return "--scheme " + testing::SharedPath("reference/schemes.json") + " --scheme-name " + name;
}

TEST(QemuParity, Mcunet49kb) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  ExpectDeviceRun(McuRun(testing::SharedPath("models/mcunet-5fps.pkl"), Reference("49kb")));
}

TEST(QemuParity, McunetSparse100kb) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  ExpectDeviceRun(McuRun(testing::SharedPath("models/mcunet-5fps.pkl"), Reference("sparse_100kb")));
}

TEST(QemuParity, Mbv2_49kb) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  ExpectDeviceRun(McuRun(testing::SharedPath("models/mbv2-w0.35.pkl"), Reference("49kb")));
}

TEST(QemuParity, Mbv2_99kb) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  ExpectDeviceRun(McuRun(testing::SharedPath("models/mbv2-w0.35.pkl"), Reference("99kb")));
}

// The project's own backbone with the sparse scheme of tests/codegen/data (classes 0-4, as it was trained).
// Until models/default-backbone.pkl is committed, the same chain runs on mbv2-w0.35 (same block structure)
// and the case then reports itself skipped.
TEST(QemuParity, DefaultBackbone) {
  const std::string scheme = "--scheme " + testing::SourcePath("tests/codegen/data/default_backbone_sparse.json") +
                             " --classes 0-4";
  const std::string own = testing::SourcePath("models/default-backbone.pkl");
  if (std::filesystem::exists(own)) {
    ExpectDeviceRun(McuRun(own, scheme));
    return;
  }
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  ExpectDeviceRun(McuRun(testing::SharedPath("models/mbv2-w0.35.pkl"), scheme));  // 10 steps, as the real one
  GTEST_SKIP() << "SKIPPED: models/default-backbone.pkl is not committed yet; the stand-in mbv2-w0.35 with the "
                  "default backbone's scheme passed";
}

// The same training on other cores (firmware.mk CPU=): Cortex-M4 (mps2-an386: FPv4, DSP), Cortex-M3
// (mps2-an385: no FPU and no DSP, the portable C kernels with fp32 in software), Cortex-M33 (mps2-an505:
// ARMv8-M, FPv5-SP, DSP, Secure state, its own memory map) and Cortex-M55 (mps3-an547: ARMv8.1-M, Helium,
// FPv5-DP, DSP, vectors in the ITCM, RAM in the DTCM, code in QSPI flash). The host replay does not depend on
// the core, so MCU = host on each means every core computes the same bits.
void ExpectCoreRun(const std::string& cpu, const std::string& board) {
  const std::string own = testing::SourcePath("models/default-backbone.pkl");
  const nlohmann::json j = McuRun(own, "--scheme " + testing::SourcePath("tests/codegen/data/default_backbone_sparse.json") +
                                           " --classes 0-4 --cpu " + cpu);
  ExpectDeviceRun(j);
  if (j.is_object()) {
    EXPECT_EQ(j["cpu"], cpu);
    EXPECT_EQ(j["board"], board);
  }
}
TEST(QemuParity, CortexM4) { ExpectCoreRun("cortex-m4", "mps2-an386"); }
TEST(QemuParity, CortexM3NoFpuNoDsp) { ExpectCoreRun("cortex-m3", "mps2-an385"); }
TEST(QemuParity, CortexM33) { ExpectCoreRun("cortex-m33", "mps2-an505"); }
TEST(QemuParity, CortexM55) { ExpectCoreRun("cortex-m55", "mps3-an547"); }

// The link-time budget is real: with --budget 1 KB above the planned peak (arena + state + stack), the plan
// fits but the firmware (which also reserves the heap for stdio, and the harness's own data) does not: the
// link must fail (exit 5) with the linker's region overflow.
TEST(QemuParity, LinkTimeBudgetOverflowIsABuildFailure) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  const auto gen = testing::RunCommand(testing::TteBinary() + " codegen --model " +
                                       testing::SharedPath("models/mcunet-5fps.pkl") + " " + Reference("49kb") +
                                       " --samples 1 --out " + testing::TempDir("codegen_link_budget") + "/p");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  const size_t at = gen.output.find("planned peak SRAM ");
  ASSERT_NE(at, std::string::npos) << gen.output;
  std::string digits;
  for (size_t i = at + 18; i < gen.output.size() && gen.output[i] != ' '; ++i)
    if (gen.output[i] != ',') digits += gen.output[i];
  const long long planned = std::stoll(digits);
  std::string out;
  McuRun(testing::SharedPath("models/mcunet-5fps.pkl"), Reference("49kb"), 5, &out, std::to_string(planned + 1024));
  EXPECT_NE(out.find("region `RAM' overflowed"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"error\":\"build_failed\",\"exit_code\":5}"), std::string::npos) << out;
}

// TFLite models (issue 11): the repository's own tiny model (conv, depthwise, add, pool, reshape, FC; always
// runs) trained fully, and the MLPerf Tiny models with the last two layers trained, each inside 256 KB with
// MCU = host bit for bit. The DS-CNN trains on its own keyword-spotting samples, the image models on
// Fashion-MNIST (resized, grey copied to 3 channels, quantized with the input's scale and zero point).
TEST(QemuParity, TfliteTinyFull) {
  const std::string dir = testing::TempDir("qemu_tflite_tiny");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.tflite", testing::TinyModel().Bytes()).ok());
  ExpectDeviceRun(McuRun(dir + "/tiny.tflite", "--scheme full --classes 0-3"));
}

TEST(QemuParity, TfliteKwsLast2) {
  TTE_REQUIRE_SHARED("tflite/data/kws01/y_labels.csv");
  ExpectDeviceRun(McuRun(testing::SharedPath("tflite/models/kws_ref_model.tflite"),
                         "--scheme last:2 --data mlperf:" + testing::SharedPath("tflite/data/kws01")));
}

TEST(QemuParity, TfliteVwwLast2) {
  TTE_REQUIRE_SHARED("tflite/models/vww_96_int8.tflite");
  ExpectDeviceRun(McuRun(testing::SharedPath("tflite/models/vww_96_int8.tflite"), "--scheme last:2"));
}

TEST(QemuParity, TfliteResnetLast2) {
  TTE_REQUIRE_SHARED("tflite/models/pretrainedResnet_quant.tflite");
  ExpectDeviceRun(McuRun(testing::SharedPath("tflite/models/pretrainedResnet_quant.tflite"), "--scheme last:2"));
}

// The anomaly-detection autoencoder (10 fully connected layers over 640 values) has no labelled data: it trains
// as a 4-class classifier on seeded random int8 samples given as .npy in its own input layout.
TEST(QemuParity, TfliteAd01Last2) {
  TTE_REQUIRE_SHARED("tflite/models/ad01_int8.tflite");
  const std::string dir = testing::TempDir("qemu_tflite_ad01");
  Tensor x(DType::kInt8, {12, 640});
  Tensor y(DType::kInt64, {12});
  uint32_t state = 12345;
  for (auto& b : x.bytes) b = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
  for (int i = 0; i < 12; ++i) y.data<int64_t>()[i] = i % 4;
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", x).ok());
  ASSERT_TRUE(WriteNpy(dir + "/y.npy", y).ok());
  ExpectDeviceRun(McuRun(testing::SharedPath("tflite/models/ad01_int8.tflite"),
                         "--scheme last:2 --data npy:" + dir + "/x.npy --labels " + dir + "/y.npy"));
}

}  // namespace
}  // namespace tte
