// `tte codegen --target library` (issue 16): two generated libraries (prefixes kws and vww, two seeds of the
// repository's tiny model) in one program with a C++ user, built warning-free (-Wall -Wextra -Wconversion
// -Werror, C99) with the host compiler and run (tests/codegen/library/driver.c: bad label, non-finite loss,
// predict-then-train, pixels, save/restore with two slots, corruption, a foreign state; also under ASan+UBSan),
// its losses and state checksum equal to the host replay bit for bit. LibraryArm.*: the same program cross-compiled for Cortex-M7
// (warning-free) and run under QEMU mps2-an500 (labels mcu;firmware).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "codegen/c_text.h"
#include "codegen/device_project.h"
#include "codegen/firmware_run.h"
#include "codegen/library_emitter.h"
#include "compiler/scheme.h"
#include "core/file_io.h"
#include "runtime/replay.h"
#include "support/sample_files.h"
#include "support/test_support.h"

namespace tte::codegen {
namespace {

constexpr int kSamples = 4;
const std::vector<int32_t> kLabels = {0, 1, 0, 2};
constexpr const char* kCFlags = "-std=c99 -O2 -Wall -Wextra -Wconversion -Werror -ffp-contract=off";

struct Built {
  DeviceProgram kws;
  std::vector<int8_t> samples;
  std::string dir;
};

Result<DeviceProgram> Compile(const std::string& dir, uint32_t seed, bool nonfinite_head) {
  const auto bytes = testing::TinyModelFile(seed);
  const std::string path = dir + "/tiny" + std::to_string(seed) + ".pkl";
  TTE_RETURN_IF_ERROR(WriteFileAtomic(path, std::string(bytes.begin(), bytes.end())));
  TTE_ASSIGN_OR_RETURN(ir::Graph g, testing::LoadGraph(path));
  TTE_ASSIGN_OR_RETURN(Scheme s, BuiltinScheme("full"));
  TrainOptions opt;
  opt.num_classes = 3;
  if (nonfinite_head) {  // label 0 gives an infinite loss (see nonfinite_test.cc)
    for (int i = 0; i < 3 * 8; ++i) opt.head_weight.push_back(0.01f * static_cast<float>(i % 5 - 2));
    opt.head_bias = {-3e38f, 3e38f, 0.0f};
  }
  return CompileDeviceProgram(g, s, opt, -1, -1, 8 * 1024);
}

// Generates kws (non-finite head) and vww into dir/kws, dir/vww and writes dir/samples.h.
void Generate(Built* b, const std::string& dir) {
  b->dir = dir;
  auto kws = Compile(dir, 1, true);
  ASSERT_TRUE(kws.ok()) << kws.status().ToString();
  auto vww = Compile(dir, 2, false);
  ASSERT_TRUE(vww.ok()) << vww.status().ToString();
  b->kws = std::move(*kws);
  for (auto [name, dp] : {std::pair<std::string, const DeviceProgram*>{"kws", &b->kws}, {"vww", &*vww}}) {
    LibraryConfig lc;
    lc.prefix = name;
    lc.info.generated_by = "tte (test)";
    lc.info.command = "library_test";
    lc.info.model = "tiny";
    lc.info.scheme = "full";
    lc.info.lr = 0.05f;
    lc.info.rng_seed = 777;
    auto lib = GenerateLibrary(dp->device.compiled.program, dp->device.plan, lc);
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    ASSERT_TRUE(WriteLibrary(*lib, dir + "/" + name).ok());
  }
  const Program& prog = b->kws.device.compiled.program;
  const size_t in = static_cast<size_t>(prog.tensors[prog.input].bytes());
  std::mt19937 rng(11);
  b->samples.resize(kSamples * in);
  for (auto& v : b->samples) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  std::string h = "#define N_SAMPLES " + std::to_string(kSamples) + "\nstatic const int32_t labels[N_SAMPLES] = {";
  for (int i = 0; i < kSamples; ++i) h += (i ? ", " : "") + std::to_string(kLabels[i]);
  h += "};\nstatic const int8_t samples[N_SAMPLES][KWS_INPUT_BYTES] = {\n";
  for (int i = 0; i < kSamples; ++i) {
    std::vector<uint8_t> bytes(b->samples.begin() + static_cast<std::ptrdiff_t>(i * in),
                               b->samples.begin() + static_cast<std::ptrdiff_t>((i + 1) * in));
    auto init = ArrayInitializer(DType::kInt8, bytes, 24, "  ");
    ASSERT_TRUE(init.ok());
    h += "{\n" + *init + "},\n";
  }
  h += "};\n";
  ASSERT_TRUE(WriteFileAtomic(dir + "/samples.h", h).ok());
}

std::string Sources(const std::string& dir) {
  return dir + "/driver.c " + dir + "/kws/kws_model.c " + dir + "/vww/vww_model.c " + dir +
         "/kws/flashsim/tte_flashsim.c " + dir + "/kws/kernels/*.c";
}
std::string Includes(const std::string& dir) { return "-I" + dir + " -I" + dir + "/kws -I" + dir + "/vww"; }

void CopyDriver(const std::string& dir) {
  auto text = ReadFile(testing::SourcePath("tests/codegen/library/driver.c"));
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/driver.c", std::string(text->begin(), text->end())).ok());
}

// Checks the driver's output against the host replay of the kws program.
void ExpectDriverAgrees(const Built& b, const std::string& out) {
  EXPECT_NE(out.find("failures=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  ReplayOptions ro;
  ro.lr = 0.05f;
  ro.rng_seed = 777;
  const Program& prog = b.kws.device.compiled.program;
  auto host = ReplayTraining(prog, b.kws.device.plan.arena_bytes, b.samples, kLabels, ro);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  for (int i = 0; i < kSamples; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &host->losses[i], sizeof bits);
    char line[96];
    std::snprintf(line, sizeof line, "step=%d status=%d loss_bits=0x%08x", i, host->skipped[i] ? 2 : 0, bits);
    EXPECT_NE(out.find(line), std::string::npos) << "expected '" << line << "' in\n" << out;
  }
  char line[64];
  std::snprintf(line, sizeof line, "checksum=%016llx", static_cast<unsigned long long>(host->checksum));
  EXPECT_NE(out.find(line), std::string::npos) << "expected '" << line << "' in\n" << out;
  EXPECT_NE(host->checksum, host->initial_checksum);
}

TEST(Library, TwoModelsAndACxxUserOnTheHost) {
  Built b;
  const std::string dir = testing::TempDir("library_host");
  Generate(&b, dir);
  if (HasFatalFailure()) return;
  CopyDriver(dir);
  std::string out;
  const std::string cc = std::string("cc ") + kCFlags + " " + Includes(dir);
  ASSERT_EQ(RunShell("cd " + dir + " && g++ -std=c++11 -O2 -Wall -Wextra -Wconversion -Werror " + Includes(dir) +
                         " -c " + testing::SourcePath("tests/codegen/library/cxx_user.cc") + " -o cxx_user.o && " + cc +
                         " -DWITH_CXX " + Sources(dir) + " cxx_user.o -lm -o driver 2>&1",
                     &out),
            0)
      << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  ASSERT_EQ(RunShell(dir + "/driver", &out), 0) << out;
  ExpectDriverAgrees(b, out);
  // Again under AddressSanitizer + UBSan: no access outside the arena, the state block or a flash buffer.
  ASSERT_EQ(RunShell("cd " + dir + " && cc -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all "
                     "-ffp-contract=off " + Includes(dir) + " " + Sources(dir) + " -lm -o driver_asan 2>&1",
                     &out),
            0)
      << out;
  ASSERT_EQ(RunShell(dir + "/driver_asan 2>&1", &out), 0) << out;
  ExpectDriverAgrees(b, out);
  // Both libraries ship the same kernels; a second copy of them must not be needed.
  auto k1 = ReadFile(dir + "/kws/kernels/tte_math.c");
  auto k2 = ReadFile(dir + "/vww/kernels/tte_math.c");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(*k1, *k2);
}

TEST(Library, FastMathIsRefusedAndContractionDetected) {
  Built b;
  const std::string dir = testing::TempDir("library_flags");
  Generate(&b, dir);
  if (HasFatalFailure()) return;
  std::string out;
  EXPECT_NE(RunShell("cc -std=c99 -O2 -ffast-math -I" + dir + "/kws -c " + dir + "/kws/kws_model.c -o /dev/null 2>&1",
                     &out),
            0);
  EXPECT_NE(out.find("fast-math"), std::string::npos) << out;
  // Contraction cannot be seen by the preprocessor: kws_init() probes it at run time (on a host with FMA).
  ASSERT_TRUE(WriteFileAtomic(dir + "/init_main.c", std::string("#include \"kws_model.h\"\n"
                                                                "int main(void) { return (int)kws_init(); }\n"))
                  .ok());
  const std::string build = "cc -std=c99 -O2 -I" + dir + "/kws " + dir + "/init_main.c " + dir + "/kws/kws_model.c " +
                            dir + "/kws/kernels/*.c -lm -o " + dir + "/init_main";
  ASSERT_EQ(RunShell(build + " -ffp-contract=off 2>&1 && " + dir + "/init_main", &out), 0) << out;
  if (RunShell("grep -qw fma /proc/cpuinfo", &out) != 0) GTEST_SKIP() << "SKIPPED: the host CPU has no FMA";
  ASSERT_EQ(RunShell(build + " -mfma -ffp-contract=fast 2>&1", &out), 0) << out;
  EXPECT_EQ(RunShell(dir + "/init_main", &out), 7) << "kws_init() must return KWS_FP_CONTRACTION";
}

TEST(LibraryArm, CortexM7WarningFreeAndUnderQemu) {
  Built b;
  const std::string dir = testing::TempDir("library_arm");
  Generate(&b, dir);
  if (HasFatalFailure()) return;
  CopyDriver(dir);
  std::string out;
  // Every library file compiles warning-free for Cortex-M7 (no harness involved).
  ASSERT_EQ(RunShell("cd " + dir + " && for f in kws/kws_model.c vww/vww_model.c kws/flashsim/tte_flashsim.c "
                     "kws/kernels/*.c; do arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16 "
                     "-mfloat-abi=hard " + std::string(kCFlags) + " " + Includes(dir) +
                         " -c $f -o /dev/null || exit 1; done 2>&1",
                     &out),
            0)
      << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  // The driver under QEMU with the firmware harness (printf through semihosting).
  const std::string mk = testing::SourcePath("firmware/Makefile.template");
  const std::string srcs = dir + "/driver.c " + dir + "/kws/kws_model.c " + dir + "/vww/vww_model.c " + dir +
                           "/kws/flashsim/tte_flashsim.c $(wildcard " + dir + "/kws/kernels/*.c)";
  const int rc = RunShell("make -s -f " + mk + " NAME=libdriver B=" + dir + "/build 'SRCS=" + srcs + "' 'INCLUDES=" +
                              dir + " " + dir + "/kws " + dir + "/vww' RAM_BUDGET=256K run 2>&1",
                          &out);
  ASSERT_EQ(rc, 0) << out;
  ExpectDriverAgrees(b, out);
}

// The run-time data example (firmware/examples/library_example.c) under QEMU: boot 1 trains on 3 frames read
// from a semihosting file and saves; boot 2 (a reboot with the flash file) restores and trains on 3 more. The
// losses of all 6 steps and the final state equal the host replay of the 6 in one run, bit for bit.
TEST(LibraryArm, RunTimeDataExampleSurvivesAReboot) {
  const std::string dir = testing::TempDir("library_example");
  auto dp = Compile(dir, 1, false);
  ASSERT_TRUE(dp.ok()) << dp.status().ToString();
  LibraryConfig lc;
  lc.info.generated_by = "tte (test)";
  lc.info.lr = 0.05f;
  lc.info.rng_seed = 4242;
  const Program& prog = dp->device.compiled.program;
  auto lib = GenerateLibrary(prog, dp->device.plan, lc);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  ASSERT_TRUE(WriteLibrary(*lib, dir + "/lib").ok());
  const size_t in = static_cast<size_t>(prog.tensors[prog.input].bytes());
  std::vector<int8_t> x(6 * in);
  std::vector<int32_t> y = {0, 1, 2, 2, 1, 0};
  std::mt19937 rng(5);
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  auto frames = [&](size_t from, size_t to) {
    std::string b;
    for (size_t i = from; i < to; ++i) {
      for (int k = 0; k < 4; ++k) b += static_cast<char>((static_cast<uint32_t>(y[i]) >> (8 * k)) & 0xff);
      b.append(reinterpret_cast<const char*>(x.data() + i * in), in);
    }
    return b;
  };
  std::string out;
  const std::string srcs = testing::SourcePath("firmware/examples/library_example.c") + " " + dir + "/lib/tte_model.c " +
                           "$(wildcard " + dir + "/lib/kernels/*.c)";
  const std::string make = "make -s -f " + testing::SourcePath("firmware/Makefile.template") + " NAME=example B=" + dir +
                           "/build 'SRCS=" + srcs + "' 'INCLUDES=" + dir + "/lib' RAM_BUDGET=256K TIMEOUT=120";
  ASSERT_EQ(RunShell(make + " 2>&1", &out), 0) << out;
  std::string qemu;
  ASSERT_EQ(RunShell(make + " print-run-cmd", &qemu), 0) << qemu;
  while (!qemu.empty() && qemu.back() == '\n') qemu.pop_back();
  qemu = qemu.substr(qemu.rfind('\n') == std::string::npos ? 0 : qemu.rfind('\n') + 1);
  std::filesystem::create_directories(dir + "/run");
  ASSERT_TRUE(WriteFileAtomic(dir + "/run/frames.bin", frames(0, 3)).ok());
  std::string boot1, boot2;
  ASSERT_EQ(RunShell("cd " + dir + "/run && " + qemu + " 2>&1", &boot1), 0) << boot1;
  ASSERT_TRUE(WriteFileAtomic(dir + "/run/frames.bin", frames(3, 6)).ok());
  ASSERT_EQ(RunShell("cd " + dir + "/run && " + qemu + " 2>&1", &boot2), 0) << boot2;

  ReplayOptions ro;
  ro.lr = 0.05f;
  ro.rng_seed = 4242;
  auto all = ReplayTraining(prog, dp->device.plan.arena_bytes, x, y, ro);
  ASSERT_TRUE(all.ok());
  auto half = ReplayTraining(prog, dp->device.plan.arena_bytes, std::vector<int8_t>(x.begin(), x.begin() + 3 * in),
                             std::vector<int32_t>(y.begin(), y.begin() + 3), ro);
  ASSERT_TRUE(half.ok());
  char line[128];
  std::snprintf(line, sizeof line, "boot status=4 seq=0 checksum=%016llx",
                static_cast<unsigned long long>(all->initial_checksum));
  EXPECT_NE(boot1.find(line), std::string::npos) << line << "\n" << boot1;
  std::snprintf(line, sizeof line, "saved status=0 seq=1 checksum=%016llx", static_cast<unsigned long long>(half->checksum));
  EXPECT_NE(boot1.find(line), std::string::npos) << line << "\n" << boot1;
  std::snprintf(line, sizeof line, "boot status=0 seq=1 checksum=%016llx", static_cast<unsigned long long>(half->checksum));
  EXPECT_NE(boot2.find(line), std::string::npos) << line << "\n" << boot2;
  std::snprintf(line, sizeof line, "saved status=0 seq=2 checksum=%016llx", static_cast<unsigned long long>(all->checksum));
  EXPECT_NE(boot2.find(line), std::string::npos) << line << "\n" << boot2;
  for (size_t i = 0; i < 6; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &all->losses[i], sizeof bits);
    std::snprintf(line, sizeof line, "step=%zu label=%d predicted=", i % 3, y[i]);
    const std::string& o = i < 3 ? boot1 : boot2;
    const size_t at = o.find(line);
    ASSERT_NE(at, std::string::npos) << line << "\n" << o;
    char tail[64];
    std::snprintf(tail, sizeof tail, "status=0 loss_bits=0x%08x", bits);
    EXPECT_NE(o.substr(at, o.find('\n', at) - at).find(tail), std::string::npos) << "step " << i << "\n" << o;
  }
  EXPECT_NE(all->checksum, half->checksum);
}

}  // namespace
}  // namespace tte::codegen
