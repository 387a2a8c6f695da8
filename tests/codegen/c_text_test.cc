// Unit tests of the code generator's pieces that need no model: exact C literals, identifiers, the state
// checksum's hash, the parser of the firmware's output, and command-line quoting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "codegen/c_text.h"
#include "codegen/device_project.h"
#include "codegen/firmware_run.h"
#include "runtime/replay.h"

namespace tte::codegen {
namespace {

TEST(CText, IdentifiersAreValidAndReadable) {
  EXPECT_EQ(CIdentifier("b3.pw1.out"), "b3_pw1_out");
  EXPECT_EQ(CIdentifier("first_conv.out@p0,1"), "first_conv_out_p0_1");
  EXPECT_EQ(CIdentifier("g:b10.pw1.out"), "g_b10_pw1_out");
  EXPECT_EQ(CIdentifier("3x"), "t_3x");
  EXPECT_EQ(CIdentifier("..."), "t_");
}

// Every fp32 bit pattern class (normal, subnormal, zero, powers of two, extremes) must come back bit for bit
// when the emitted literal is read by a C compiler; strtof reads hexadecimal floats exactly like one.
TEST(CText, FloatLiteralsAreExact) {
  std::mt19937 rng(7);
  std::vector<uint32_t> bits = {0x00000000u, 0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x7f7fffffu,
                                0xff7fffffu, 0x3f800000u, 0x3c23d70au, 0xbf000001u};
  for (int i = 0; i < 20000; ++i) bits.push_back(rng());
  for (uint32_t b : bits) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    if (!std::isfinite(f)) continue;
    const std::string lit = FloatLiteral(f);
    ASSERT_EQ(lit.back(), 'f') << lit;
    const float back = std::strtof(lit.substr(0, lit.size() - 1).c_str(), nullptr);
    uint32_t bb;
    std::memcpy(&bb, &back, sizeof bb);
    ASSERT_EQ(bb, b) << lit;
  }
  EXPECT_EQ(FloatLiteral(INFINITY), "__builtin_inff()");
}

TEST(CText, ArrayInitializerOfEveryIntegerType) {
  const int32_t v32[] = {INT32_MIN, -1, 0, INT32_MAX};
  std::vector<uint8_t> b(sizeof v32);
  std::memcpy(b.data(), v32, sizeof v32);
  auto t = ArrayInitializer(DType::kInt32, b, 2, "  ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "  (-2147483647 - 1), -1,\n  0, 2147483647");
  auto i8 = ArrayInitializer(DType::kInt8, {0x80, 0x7f, 0xff}, 8, "");
  ASSERT_TRUE(i8.ok());
  EXPECT_EQ(*i8, "-128, 127, -1");
  auto u16 = ArrayInitializer(DType::kUInt16, {0x00, 0x80, 0x05, 0x00}, 8, "");
  ASSERT_TRUE(u16.ok());
  EXPECT_EQ(*u16, "32768, 5");
  EXPECT_FALSE(ArrayInitializer(DType::kInt32, {1, 2, 3}, 8, "").ok());
}

TEST(CText, CommentsCannotBeClosedByNames) { EXPECT_EQ(CommentSafe("a */ b /* c\nd"), "a * / b / * c d"); }

TEST(Checksum, Fnv1a64KnownVectors) {
  EXPECT_EQ(Fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar", 6), 0x85944171f73967e8ull);
  // Incremental = one pass.
  EXPECT_EQ(Fnv1a64("bar", 3, Fnv1a64("foo", 3)), 0x85944171f73967e8ull);
}

TEST(Checksum, CoversStateTensorsInIdOrderWithoutGradientBuffers) {
  Program p;
  auto add = [&](const char* name, Storage s) {
    TensorInfo t;
    t.name = name;
    t.shape = {4};
    t.storage = s;
    return p.AddTensor(t);
  };
  const int a = add("w", Storage::kState);
  add("x", Storage::kArena);
  const int g = add("w.grad", Storage::kState);
  add("eff", Storage::kFlash);
  const int b = add("head.weight", Storage::kState);
  const int hg = add("head.weight_grad", Storage::kState);
  ConvBinding cb;
  cb.grad_w = g;
  p.convs.push_back(cb);
  p.head.gW = hg;
  EXPECT_EQ(ChecksumTensors(p), (std::vector<int>{a, b}));
}

TEST(FirmwareOutput, ParsesEveryLineKind) {
  const std::string out =
      "fw: build=ok elf=/tmp/p/build/tte_train.elf\n"
      "fw: ram_used=145168 ram_budget=262144 flash_used=1095908 flash_budget=2097152\n"
      "tte: steps=2 classes=10 resolution=128 arena=91180 lr_bits=0x3c23d70a rng_seed=12345\n"
      "checksum_initial=3d31b2bd0a4ab09c\n"
      "step=0 label=9 loss=1.838685 loss_bits=0x3feb5a04 ticks=13529654\n"
      "step=1 label=2 loss=5.900908 loss_bits=0x40bcd43e ticks=13527289\n"
      "checksum=89e23e935aa78aaa\n"
      "mcu: stack_used=680 stack_size=8192 heap_used=1700 heap_size=8192 ram_static=145168 ram_budget=262144\n"
      "insncount: mark 0 insns=100 delta=100\n"
      "insncount: mark 1 insns=541186338 delta=541186238\n"
      "insncount: mark 2 insns=541187000 delta=662\n"
      "insncount: mark 3 insns=1082278590 delta=541091590\n"
      "insncount: total insns=1082300000\n"
      "fw: exit=0\n";
  FirmwareRun r;
  ParseFirmwareOutput(out, &r);
  EXPECT_TRUE(r.built);
  EXPECT_EQ(r.elf, "/tmp/p/build/tte_train.elf");
  EXPECT_EQ(r.ram_used, 145168);
  EXPECT_EQ(r.flash_budget, 2097152);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].label, 9);
  EXPECT_EQ(r.steps[0].loss_bits, 0x3feb5a04u);
  EXPECT_FLOAT_EQ(r.steps[1].loss, 5.900908f);
  EXPECT_EQ(r.steps[0].insns, 541186238);
  EXPECT_EQ(r.steps[1].insns, 541091590);
  EXPECT_TRUE(r.has_checksum);
  EXPECT_EQ(r.checksum, 0x89e23e935aa78aaaull);
  EXPECT_EQ(r.checksum_initial, 0x3d31b2bd0a4ab09cull);
  EXPECT_EQ(r.stack_used, 680);
  EXPECT_EQ(r.heap_used, 1700);
  EXPECT_EQ(r.total_insns, 1082300000);
  EXPECT_TRUE(r.fault.empty());
}

TEST(FirmwareOutput, FaultLineAndMissingChecksum) {
  FirmwareRun r;
  ParseFirmwareOutput("step=0 label=1 loss=1 loss_bits=0x3f800000 ticks=1\n\n*** FAULT exc=0x00000004 pc=0x000000da\n",
                      &r);
  EXPECT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].insns, -1);
  EXPECT_FALSE(r.has_checksum);
  EXPECT_EQ(r.fault, "*** FAULT exc=0x00000004 pc=0x000000da");
}

TEST(CommandLine, QuotesOnlyWhatNeedsIt) {
  const char* argv[] = {"tte", "codegen", "--out", "/tmp/a b", "--classes", "Sandal,Bag", "it's"};
  EXPECT_EQ(CommandLine(7, argv), "tte codegen --out '/tmp/a b' --classes Sandal,Bag 'it'\\''s'");
}

}  // namespace
}  // namespace tte::codegen
