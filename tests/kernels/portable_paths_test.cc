// The fast paths of the portable kernels (src/kernels/conv_fwd.c, conv_fwd_pw.c, conv_bwd.c: register-blocked
// pointwise, depthwise and dense loops, whole tensors and patch windows) against the reference loops of
// conv_reference.cc: randomized shapes (odd sizes, every kernel kind; the .pkl models' square geometry and
// any geometry: rectangular kernels, per-axis strides, dilation, asymmetric pads, depthwise multipliers),
// narrow activation ranges and both requant modes (FP32, TFLITE), random windows as patch execution builds
// them (in_buf / out / out_buf sub-rectangles), split weights (slot tables), masks, both bias kinds,
// accumulation. Outputs start with the same random garbage on both sides, so bytes a kernel must not touch
// are checked too. A fault-injection test shows the comparison catches a wrong zero point. The backward
// kernels' fast paths are compared in portable_paths_bwd_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/conv_reference.h"

// conv_fwd.c compiled with its Cortex-M DSP pointwise loop emulated in C (conv_fwd_dsp_emulated.c).
extern "C" void tte_emu_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

namespace tte::testing {
namespace {

using ConvFn = void (*)(const tte_conv_params*, const int8_t*, int8_t*, uint8_t*);

// ---------------------------------------------------------------- random cases

int32_t Uniform(std::mt19937& rng, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(rng); }
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

template <typename T>
std::vector<T> Garbage(std::mt19937& rng, size_t n) {
  std::vector<T> v(n);
  for (T& e : v) e = static_cast<T>(Uniform(rng, 0, 255));
  return v;
}

// The .pkl models' kinds (square kernels, FP32, full range), or (general) any geometry with a random
// activation range and requant mode.
ConvSpec RandomSpec(std::mt19937& rng, bool general) {
  if (general) {
    ConvSpec s = RandomGeneral(rng);
    RandomizeArithmetic(rng, &s);
    return s;
  }
  switch (Uniform(rng, 0, 5)) {
    case 0:
    case 1: return RandomPointwise(rng);
    case 2: return RandomDepthwise(rng);
    case 3: return RandomDense(rng);
    case 4: return RandomGrouped(rng);
    default: {  // the first conv of the models: 3x3 stride 2 pad 1, 3 input channels
      ConvSpec s = RandomDense(rng);
      s.cin = 3;
      s.Square(3, 2, 1);
      s.h = std::max(s.h, 2);
      s.w = std::max(s.w, 2);
      return s;
    }
  }
}

// A random sub-range [a, a + n) of [0, full) with n >= 1.
void RandomRange(std::mt19937& rng, int32_t full, int32_t* a, int32_t* n) {
  *a = Uniform(rng, 0, full - 1);
  *n = Uniform(rng, 1, full - *a);
}

// Windows as patch execution fills them: `out` a sub-rectangle of the output, in_buf containing every
// input row / column `out` reads (plus a random margin, within the input), out_buf containing `out`.
void RandomWindows(std::mt19937& rng, tte_conv_params* p) {
  const int32_t oh = p->out.h, ow = p->out.w;
  RandomRange(rng, oh, &p->out.y0, &p->out.h);
  RandomRange(rng, ow, &p->out.x0, &p->out.w);
  auto input_range = [&](int32_t o0, int32_t n, int32_t in, int32_t s, int32_t pad, int32_t ext, int32_t* b0,
                         int32_t* bn) {
    int32_t lo = std::max(0, o0 * s - pad), hi = std::min(in, (o0 + n - 1) * s - pad + ext);
    if (hi <= lo) hi = lo + 1;  // reads nothing but padding: any non-empty buffer
    if (hi > in) lo = std::max(0, in - 1), hi = in;
    if (Chance(rng, 0.4)) lo = Uniform(rng, 0, lo);
    if (Chance(rng, 0.4)) hi = Uniform(rng, hi, in);
    *b0 = lo;
    *bn = hi - lo;
  };
  input_range(p->out.y0, p->out.h, p->in_h, p->sh, p->pad_t, (p->kh - 1) * p->dh + 1, &p->in_buf.y0, &p->in_buf.h);
  input_range(p->out.x0, p->out.w, p->in_w, p->sw, p->pad_l, (p->kw - 1) * p->dw + 1, &p->in_buf.x0, &p->in_buf.w);
  p->out_buf = p->out;
  if (Chance(rng, 0.5)) {
    p->out_buf.y0 = Uniform(rng, 0, p->out.y0);
    p->out_buf.x0 = Uniform(rng, 0, p->out.x0);
    p->out_buf.h = Uniform(rng, p->out.y0 + p->out.h, oh) - p->out_buf.y0;
    p->out_buf.w = Uniform(rng, p->out.x0 + p->out.w, ow) - p->out_buf.x0;
  }
}

std::string WindowString(const tte_conv_params& p) {
  auto w = [](const tte_window& v) {
    return "{" + std::to_string(v.y0) + "," + std::to_string(v.x0) + "," + std::to_string(v.h) + "," + std::to_string(v.w) + "}";
  };
  return " in_buf=" + w(p.in_buf) + " out=" + w(p.out) + " out_buf=" + w(p.out_buf);
}

// One forward case of `s` (windowed or whole, with or without a mask) through `conv` against RefConv; ""
// if bit-identical.
std::string ForwardOf(const ConvSpec& s, std::mt19937& rng, bool windowed, int32_t fault_x_zero, std::string* what,
                      ConvFn conv) {
  ConvCase c(s, rng);
  tte_conv_params p = c.params;
  if (windowed) RandomWindows(rng, &p);
  const bool use_mask = Chance(rng, 0.6);
  const size_t in_n = (size_t)s.cin * p.in_buf.h * p.in_buf.w;
  const size_t out_n = (size_t)s.cout * p.out_buf.h * p.out_buf.w;
  std::vector<int8_t> x(in_n);
  for (int8_t& v : x) v = static_cast<int8_t>(Uniform(rng, -128, 127));
  std::vector<int8_t> y_ref = Garbage<int8_t>(rng, out_n), y = y_ref;
  std::vector<uint8_t> m_ref = Garbage<uint8_t>(rng, (out_n + 7) / 8 + 1), m = m_ref;
  RefConv(&p, x.data(), y_ref.data(), use_mask ? m_ref.data() : nullptr, fault_x_zero);
  conv(&p, x.data(), y.data(), use_mask ? m.data() : nullptr);
  const std::string desc = s.ToString() + (windowed ? WindowString(p) : " whole") + " mask=" + std::to_string(use_mask);
  if (what) *what = desc;
  const int64_t dy = FirstBitDifference(y_ref.data(), y.data(), 1, y.size());
  if (dy >= 0) return "y differs at " + std::to_string(dy) + ": " + desc;
  const int64_t dm = FirstBitDifference(m_ref.data(), m.data(), 1, m.size());
  if (dm >= 0) return "mask differs at byte " + std::to_string(dm) + ": " + desc;
  return "";
}

std::string ForwardCase(std::mt19937& rng, bool windowed, bool general = false, int32_t fault_x_zero = 0,
                        std::string* what = nullptr, ConvFn conv = tte_conv_s8) {
  const ConvSpec s = RandomSpec(rng, general);
  return ForwardOf(s, rng, windowed, fault_x_zero, what, conv);
}

void Sweep(int iterations, const std::function<std::string(std::mt19937&)>& fn) {
  const uint32_t seed = TestSeed();
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 1000033u + static_cast<uint32_t>(it));
    const std::string err = fn(rng);
    ASSERT_EQ(err, "") << "case " << it << "\n" << ReplayHint(seed);
  }
}

TEST(PortablePaths, ForwardWholeTensors) {
  Sweep(TestIterations(400), [](std::mt19937& rng) { return ForwardCase(rng, false); });
}

TEST(PortablePaths, ForwardWindows) {
  Sweep(TestIterations(600), [](std::mt19937& rng) { return ForwardCase(rng, true); });
}

// Any geometry (rectangular, per-axis stride, dilation, asymmetric pads, depthwise multipliers), narrow
// activation ranges and the TFLITE requantization, whole tensors and windows.
TEST(PortablePaths, ForwardGeneralWholeTensors) {
  Sweep(TestIterations(500), [](std::mt19937& rng) { return ForwardCase(rng, false, true); });
}

TEST(PortablePaths, ForwardGeneralWindows) {
  Sweep(TestIterations(500), [](std::mt19937& rng) { return ForwardCase(rng, true, true); });
}

// The pointwise fast path in TFLITE mode and with narrow ranges (RandomGeneral's pointwise convs are strided
// or padded, so they take the other paths).
TEST(PortablePaths, ForwardPointwiseTfliteAndRanges) {
  Sweep(TestIterations(300), [](std::mt19937& rng) {
    ConvSpec s = RandomPointwise(rng);
    RandomizeArithmetic(rng, &s);
    return ForwardOf(s, rng, Chance(rng, 0.5), 0, nullptr, tte_conv_s8);
  });
}

// The Cortex-M DSP pointwise loop (emulated: same code, C versions of PKHBT / PKHTB / SXTB16 / SMLAD).
TEST(PortablePaths, ForwardWholeTensorsDspLoop) {
  Sweep(TestIterations(400), [](std::mt19937& rng) { return ForwardCase(rng, false, false, 0, nullptr, tte_emu_conv_s8); });
}

TEST(PortablePaths, ForwardWindowsDspLoop) {
  Sweep(TestIterations(600), [](std::mt19937& rng) { return ForwardCase(rng, true, false, 0, nullptr, tte_emu_conv_s8); });
}

TEST(PortablePaths, ForwardGeneralDspLoop) {
  Sweep(TestIterations(300), [](std::mt19937& rng) {
    ConvSpec s = Chance(rng, 0.5) ? RandomPointwise(rng) : RandomGeneral(rng);
    RandomizeArithmetic(rng, &s);
    return ForwardOf(s, rng, Chance(rng, 0.5), 0, nullptr, tte_emu_conv_s8);
  });
}

// Wide split pointwise convs (more input channels than the stack gather of the fast path holds), the real
// layer shapes of the models' patch stages and of the TFLite models (DS-CNN's 10x4 first conv with stride
// 2x1 and SAME pads 4/5, 1/2; MobileNet's stride-2 SAME 0/1 depthwise; ResNet's 1x1 stride-2 shortcut);
// each through tte_conv_s8 and the emulated DSP loop, in both requant modes.
void ForwardFixedShapes(ConvFn conv) {
  struct Shape {
    int32_t cin, cout, kh, kw, sh, sw, pt, pb, pl, pr, groups, h, w;
    bool dwise, split;
  };
  const Shape shapes[] = {
      {600, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 3, 5, false, true},      {576, 160, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2, 3, false, false},
      {8, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 64, 64, false, false},    {16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 64, 64, true, false},
      {32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 32, 64, 64, true, false},   {3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 128, 128, false, false},
      {48, 48, 7, 7, 2, 2, 3, 3, 3, 3, 48, 20, 20, true, true},    {160, 160, 5, 5, 1, 1, 2, 2, 2, 2, 160, 9, 9, true, true},
      {15, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 9, 11, false, true},      {1, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 5, 8, false, false},
      {1, 64, 10, 4, 2, 2, 4, 5, 1, 2, 1, 49, 10, false, false},   {1, 40, 10, 4, 2, 1, 4, 5, 1, 2, 1, 49, 10, false, false},
      {8, 8, 3, 3, 2, 2, 0, 1, 0, 1, 8, 48, 48, true, false},      {16, 32, 1, 1, 2, 2, 0, 0, 0, 0, 1, 32, 32, false, false},
      {64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 64, 25, 5, true, true},
      // the DSP pointwise path's edges: 576 input channels (its block limit), split weights gathered in several
      // chunks of rows (768 / cin output channels each, one for 576), channel tails cin % 4 = 1, 2, 3, short
      // pixel blocks
      {576, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 3, 3, false, false},    {576, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2, 5, false, true},
      {577, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2, 2, false, false},
      {200, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 4, 4, false, true},    {97, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 7, 3, false, true},
      {6, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 20, 23, false, false},   {7, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3, false, false}};
  const uint32_t seed = TestSeed();
  int n = 0;
  for (const Shape& sh : shapes) {
    for (int rep = 0; rep < 4; ++rep, ++n) {
      std::mt19937 rng(seed + 77u * static_cast<uint32_t>(n));
      ConvSpec s;
      s.cin = sh.cin;
      s.cout = sh.cout;
      s.kh = sh.kh;
      s.kw = sh.kw;
      s.sh = sh.sh;
      s.sw = sh.sw;
      s.pad_t = sh.pt;
      s.pad_b = sh.pb;
      s.pad_l = sh.pl;
      s.pad_r = sh.pr;
      s.groups = sh.groups;
      s.dwise = sh.dwise;
      s.h = sh.h;
      s.w = sh.w;
      s.split = sh.split;
      s.x_zero = Uniform(rng, -128, 127);
      s.y_zero = Uniform(rng, -128, 127);
      s.bias = static_cast<BiasKind>(Uniform(rng, 0, 2));
      if (rep >= 2) RandomizeArithmetic(rng, &s);
      ConvCase c(s, rng);
      tte_conv_params p = c.params;
      if (rep % 2) RandomWindows(rng, &p);
      const size_t in_n = (size_t)s.cin * p.in_buf.h * p.in_buf.w, out_n = (size_t)s.cout * p.out_buf.h * p.out_buf.w;
      std::vector<int8_t> x(in_n);
      for (int8_t& v : x) v = static_cast<int8_t>(Uniform(rng, -128, 127));
      std::vector<int8_t> y_ref = Garbage<int8_t>(rng, out_n), y = y_ref;
      std::vector<uint8_t> m_ref = Garbage<uint8_t>(rng, (out_n + 7) / 8), m = m_ref;
      RefConv(&p, x.data(), y_ref.data(), m_ref.data());
      conv(&p, x.data(), y.data(), m.data());
      ASSERT_EQ(FirstBitDifference(y_ref.data(), y.data(), 1, y.size()), -1) << s.ToString() << WindowString(p);
      ASSERT_EQ(FirstBitDifference(m_ref.data(), m.data(), 1, m.size()), -1) << s.ToString() << WindowString(p);
    }
  }
}

// Non-finite biases and scales (a diverged fp32 master bias): the DSP pointwise path leaves such convs to the
// register-blocked loop, which follows tte_rq_fp32's NaN / infinity rules; outputs and masks equal the portable
// path's.
TEST(PortablePaths, ForwardNonFiniteRequantDspLoop) {
  const float kOdd[] = {INFINITY, -INFINITY, NAN, 3.0e38f};
  Sweep(TestIterations(60), [&](std::mt19937& rng) -> std::string {
    ConvSpec s = RandomPointwise(rng);
    s.bias = BiasKind::kF32;
    ConvCase c(s, rng);
    tte_conv_params p = c.params;
    std::vector<float> bias(p.bias_f32, p.bias_f32 + s.cout), eff(p.eff, p.eff + s.cout);
    const int32_t o = Uniform(rng, 0, s.cout - 1);
    (Chance(rng, 0.5) ? bias : eff)[static_cast<size_t>(o)] = kOdd[Uniform(rng, 0, 3)];
    p.bias_f32 = bias.data();
    p.eff = eff.data();
    const size_t out_n = (size_t)s.cout * p.out_buf.h * p.out_buf.w;
    std::vector<int8_t> y_ref = Garbage<int8_t>(rng, out_n), y = y_ref;
    std::vector<uint8_t> m_ref = Garbage<uint8_t>(rng, (out_n + 7) / 8), m = m_ref;
    tte_conv_s8(&p, c.x.data(), y_ref.data(), m_ref.data());
    tte_emu_conv_s8(&p, c.x.data(), y.data(), m.data());
    if (FirstBitDifference(y_ref.data(), y.data(), 1, y.size()) >= 0 ||
        FirstBitDifference(m_ref.data(), m.data(), 1, m.size()) >= 0)
      return "differs: " + s.ToString();
    return "";
  });
}

TEST(PortablePaths, ForwardFixedShapes) { ForwardFixedShapes(tte_conv_s8); }
TEST(PortablePaths, ForwardFixedShapesDspLoop) { ForwardFixedShapes(tte_emu_conv_s8); }

TEST(PortablePaths, DepthwiseInPlace) {
  Sweep(TestIterations(300), [](std::mt19937& rng) -> std::string {
    ConvSpec s = Chance(rng, 0.5) ? RandomDepthwise(rng) : RandomGeneralDepthwise(rng);
    if (Chance(rng, 0.5)) RandomizeArithmetic(rng, &s);
    s.cout = s.cin;  // in place: multiplier 1
    if (s.out_h() * s.out_w() > s.h * s.w) return "";  // in place: out plane <= in plane
    ConvCase c(s, rng);
    const tte_conv_params& p = c.params;
    const size_t out_n = c.out_elems();
    std::vector<int8_t> y_ref(out_n);
    std::vector<uint8_t> m_ref = Garbage<uint8_t>(rng, (out_n + 7) / 8), m = m_ref;
    RefConv(&p, c.x.data(), y_ref.data(), m_ref.data());
    std::vector<int8_t> buf = c.x, scratch = Garbage<int8_t>(rng, (size_t)p.out.h * p.out.w);
    tte_conv_dw_inplace_s8(&p, buf.data(), scratch.data(), m.data());
    if (FirstBitDifference(y_ref.data(), buf.data(), 1, out_n) >= 0) return "y differs: " + s.ToString();
    if (FirstBitDifference(m_ref.data(), m.data(), 1, m.size()) >= 0) return "mask differs: " + s.ToString();
    return "";
  });
}

// The comparison can fail: a reference with a zero point off by one differs in nearly every case.
TEST(PortablePaths, FaultInjectionIsCaught) {
  const uint32_t seed = TestSeed();
  int differing = 0;
  const int n = 60;
  for (int it = 0; it < n; ++it) {
    std::mt19937 rng(seed * 31u + static_cast<uint32_t>(it));
    if (!ForwardCase(rng, it % 2 == 0, it % 3 == 0, 1).empty()) ++differing;
  }
  EXPECT_GE(differing, n / 2);
}

}  // namespace
}  // namespace tte::testing
