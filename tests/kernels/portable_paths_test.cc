// The fast paths of the portable kernels (src/kernels/conv_fwd.c, conv_bwd.c: register-blocked pointwise,
// depthwise and dense loops, whole tensors and patch windows) against the original generic loops, kept
// here verbatim as references: randomized shapes (odd sizes, every kernel kind), random windows as patch
// execution builds them (in_buf / out / out_buf sub-rectangles), split weights (slot tables), masks, both
// bias kinds, accumulation. Outputs start with the same random garbage on both sides, so bytes a kernel
// must not touch are checked too. A fault-injection test shows the comparison catches a wrong zero point.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_case.h"

// conv_fwd.c compiled with its Cortex-M DSP pointwise loop emulated in C (conv_fwd_dsp_emulated.c).
extern "C" void tte_emu_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

namespace tte::testing {
namespace {

using ConvFn = void (*)(const tte_conv_params*, const int8_t*, int8_t*, uint8_t*);

// ---------------------------------------------------------------- references (the pre-optimization loops)

int8_t RefRequant(int32_t acc, float bias, float eff, float yz, int* in_range) {
  float t = (float)acc + bias;
  float v = rintf(t * eff) + yz;
  *in_range = (v >= -128.0f) && (v <= 127.0f);
  if (v < -128.0f) return (int8_t)-128;
  if (v > 127.0f) return (int8_t)127;
  return (int8_t)(int32_t)v;
}

void RefSetMask(uint8_t* mask, size_t n, int bit) {
  if (bit)
    mask[n >> 3] = (uint8_t)(mask[n >> 3] | (1u << (n & 7)));
  else
    mask[n >> 3] = (uint8_t)(mask[n >> 3] & ~(1u << (n & 7)));
}

// conv_generic of conv_fwd.c as it was (the specification for any window / kernel). x_zero_delta != 0
// makes it deliberately wrong (fault injection).
void RefConv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, int32_t x_zero_delta = 0) {
  const int32_t k = p->k, kk = k * k, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  const int32_t bh = p->in_buf.h, bw = p->in_buf.w;
  const float yz = (float)p->y_zero;
  const int32_t xz = p->x_zero + x_zero_delta;
  for (int32_t o = 0; o < p->cout; ++o) {
    const int32_t g = o / opg;
    const float bias = p->bias_f32 ? p->bias_f32[o] : (float)p->bias_i32[o], eff = p->eff[o];
    for (int32_t oy = 0; oy < p->out.h; ++oy) {
      const int32_t iy0 = (p->out.y0 + oy) * p->stride - p->pad;
      for (int32_t ox = 0; ox < p->out.w; ++ox) {
        const int32_t ix0 = (p->out.x0 + ox) * p->stride - p->pad;
        int32_t acc = 0;
        for (int32_t ii = 0; ii < ipg; ++ii) {
          const int32_t i = g * ipg + ii;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, depthwise, ipg);
          const int8_t* xc = x + (size_t)i * (size_t)bh * (size_t)bw;
          for (int32_t kh = 0; kh < k; ++kh) {
            const int32_t iy = iy0 + kh;
            if (iy < 0 || iy >= p->in_h) continue;
            const int8_t* xr = xc + (size_t)(iy - p->in_buf.y0) * (size_t)bw;
            for (int32_t kw = 0; kw < k; ++kw) {
              const int32_t ix = ix0 + kw;
              if (ix < 0 || ix >= p->in_w) continue;
              acc += ((int32_t)xr[ix - p->in_buf.x0] - xz) * (int32_t)wr[kh * k + kw];
            }
          }
        }
        int in_range;
        const size_t n = ((size_t)o * (size_t)p->out_buf.h + (size_t)(p->out.y0 + oy - p->out_buf.y0)) * (size_t)p->out_buf.w +
                         (size_t)(p->out.x0 + ox - p->out_buf.x0);
        y[n] = RefRequant(acc, bias, eff, yz, &in_range);
        if (mask) RefSetMask(mask, n, in_range);
      }
    }
  }
}

// bwd_input_generic of conv_bwd.c as it was (whole tensors; the order of the specification).
void RefBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  const int32_t k = p->k, kk = k * k, s = p->stride, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  const int32_t oh = p->out.h, ow = p->out.w;
  for (int32_t i = 0; i < p->cin; ++i) {
    const int32_t grp = i / ipg, ii = i % ipg;
    for (int32_t y = 0; y < p->in_h; ++y) {
      for (int32_t x = 0; x < p->in_w; ++x) {
        float acc = 0.0f;
        for (int32_t oo = 0; oo < opg; ++oo) {
          const int32_t o = grp * opg + oo;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, depthwise, ipg);
          const float* go = g + (size_t)o * (size_t)oh * (size_t)ow;
          for (int32_t kh = 0; kh < k; ++kh) {
            const int32_t ny = y + p->pad - kh;
            if (ny < 0 || ny % s) continue;
            const int32_t ho = ny / s;
            if (ho >= oh) continue;
            for (int32_t kw = 0; kw < k; ++kw) {
              const int32_t nx = x + p->pad - kw;
              if (nx < 0 || nx % s) continue;
              const int32_t wo = nx / s;
              if (wo >= ow) continue;
              acc += (float)wr[kh * k + kw] * go[(size_t)ho * (size_t)ow + (size_t)wo];
            }
          }
        }
        float* d = dx + ((size_t)i * (size_t)p->in_h + (size_t)y) * (size_t)p->in_w + (size_t)x;
        *d = accumulate ? *d + acc : acc;
      }
    }
  }
}

// ---------------------------------------------------------------- random cases

int32_t Uniform(std::mt19937& rng, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(rng); }
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

template <typename T>
std::vector<T> Garbage(std::mt19937& rng, size_t n) {
  std::vector<T> v(n);
  for (T& e : v) e = static_cast<T>(Uniform(rng, 0, 255));
  return v;
}

ConvSpec RandomSpec(std::mt19937& rng) {
  switch (Uniform(rng, 0, 5)) {
    case 0:
    case 1: return RandomPointwise(rng);
    case 2: return RandomDepthwise(rng);
    case 3: return RandomDense(rng);
    case 4: return RandomGrouped(rng);
    default: {  // the first conv of the models: 3x3 stride 2 pad 1, 3 input channels
      ConvSpec s = RandomDense(rng);
      s.cin = 3;
      s.k = 3;
      s.stride = 2;
      s.pad = 1;
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
  auto input_range = [&](int32_t o0, int32_t n, int32_t in, int32_t* b0, int32_t* bn) {
    int32_t lo = std::max(0, o0 * p->stride - p->pad), hi = std::min(in, (o0 + n - 1) * p->stride - p->pad + p->k);
    if (hi <= lo) hi = lo + 1;  // reads nothing but padding: any non-empty buffer
    if (hi > in) lo = std::max(0, in - 1), hi = in;
    if (Chance(rng, 0.4)) lo = Uniform(rng, 0, lo);
    if (Chance(rng, 0.4)) hi = Uniform(rng, hi, in);
    *b0 = lo;
    *bn = hi - lo;
  };
  input_range(p->out.y0, p->out.h, p->in_h, &p->in_buf.y0, &p->in_buf.h);
  input_range(p->out.x0, p->out.w, p->in_w, &p->in_buf.x0, &p->in_buf.w);
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

// One forward case through tte_conv_s8 against RefConv; "" if bit-identical. Windowed or whole, with or
// without a mask.
std::string ForwardCase(std::mt19937& rng, bool windowed, int32_t fault_x_zero = 0, std::string* what = nullptr,
                        ConvFn conv = tte_conv_s8) {
  const ConvSpec s = RandomSpec(rng);
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

// The Cortex-M DSP pointwise loop (emulated: same code, C versions of PKHBT / PKHTB / SXTB16 / SMLAD).
TEST(PortablePaths, ForwardWholeTensorsDspLoop) {
  Sweep(TestIterations(400), [](std::mt19937& rng) { return ForwardCase(rng, false, 0, nullptr, tte_emu_conv_s8); });
}

TEST(PortablePaths, ForwardWindowsDspLoop) {
  Sweep(TestIterations(600), [](std::mt19937& rng) { return ForwardCase(rng, true, 0, nullptr, tte_emu_conv_s8); });
}

// Wide split pointwise convs (more input channels than the stack gather of the fast path holds) and the
// real layer shapes of the models' patch stages; each through tte_conv_s8 and the emulated DSP loop.
void ForwardFixedShapes(ConvFn conv) {
  struct Shape {
    int32_t cin, cout, k, stride, pad, groups, h, w;
    bool split;
  };
  const Shape shapes[] = {{600, 5, 1, 1, 0, 1, 3, 5, true},   {576, 160, 1, 1, 0, 1, 2, 3, false},
                          {8, 32, 1, 1, 0, 1, 64, 64, false},  {16, 16, 3, 1, 1, 16, 64, 64, false},
                          {32, 32, 3, 2, 1, 32, 64, 64, false}, {3, 16, 3, 2, 1, 1, 128, 128, false},
                          {48, 48, 7, 2, 3, 48, 20, 20, true}, {160, 160, 5, 1, 2, 160, 9, 9, true},
                          {15, 7, 1, 1, 0, 1, 9, 11, true},    {1, 3, 1, 1, 0, 1, 5, 8, false}};
  const uint32_t seed = TestSeed();
  int n = 0;
  for (const Shape& sh : shapes) {
    for (int rep = 0; rep < 3; ++rep, ++n) {
      std::mt19937 rng(seed + 77u * static_cast<uint32_t>(n));
      ConvSpec s;
      s.cin = sh.cin;
      s.cout = sh.cout;
      s.k = sh.k;
      s.stride = sh.stride;
      s.pad = sh.pad;
      s.groups = sh.groups;
      s.h = sh.h;
      s.w = sh.w;
      s.split = sh.split;
      s.x_zero = Uniform(rng, -128, 127);
      s.y_zero = Uniform(rng, -128, 127);
      s.bias = static_cast<BiasKind>(Uniform(rng, 0, 2));
      ConvCase c(s, rng);
      tte_conv_params p = c.params;
      if (rep > 0) RandomWindows(rng, &p);
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

TEST(PortablePaths, ForwardFixedShapes) { ForwardFixedShapes(tte_conv_s8); }
TEST(PortablePaths, ForwardFixedShapesDspLoop) { ForwardFixedShapes(tte_emu_conv_s8); }

TEST(PortablePaths, DepthwiseInPlace) {
  Sweep(TestIterations(200), [](std::mt19937& rng) -> std::string {
    ConvSpec s = RandomDepthwise(rng);
    while (s.out_h() * s.out_w() > s.h * s.w) s = RandomDepthwise(rng);  // in place: out plane <= in plane
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
    if (!ForwardCase(rng, it % 2 == 0, 1).empty()) ++differing;
  }
  EXPECT_GE(differing, n / 2);
}

// ---------------------------------------------------------------- backward (input gradient)

std::string BackwardCase(std::mt19937& rng) {
  const ConvSpec s = RandomSpec(rng);
  ConvCase c(s, rng);
  const tte_conv_params& p = c.params;
  const bool accumulate = Chance(rng, 0.5);
  std::vector<float> g(c.out_elems());
  FillGradient(rng, &g);
  std::vector<float> dx_ref(c.in_elems());
  FillGradient(rng, &dx_ref);
  std::vector<float> dx = dx_ref;
  RefBackwardInput(&p, g.data(), dx_ref.data(), accumulate);
  tte_conv_backward_input_f32(&p, g.data(), dx.data(), accumulate);
  const int64_t d = FirstBitDifference(dx_ref.data(), dx.data(), sizeof(float), dx.size());
  if (d >= 0) return "dx differs at " + std::to_string(d) + ": " + s.ToString() + " accumulate=" + std::to_string(accumulate);
  return "";
}

TEST(PortablePaths, BackwardInput) { Sweep(TestIterations(400), BackwardCase); }

// More output channels than one chunk of the pointwise path's weights, planes larger than its pixel tile,
// and the wide depthwise / dense shapes of the models.
TEST(PortablePaths, BackwardInputWide) {
  Sweep(TestIterations(40), [](std::mt19937& rng) -> std::string {
    ConvSpec s;
    switch (Uniform(rng, 0, 2)) {
      case 0:
        s = RandomPointwise(rng);
        s.cout = Uniform(rng, 60, 200);
        s.h = Uniform(rng, 1, 12);
        s.w = Uniform(rng, 1, 12);
        break;
      case 1: s = RandomDepthwise(rng); s.h = Uniform(rng, 20, 40); break;
      default: s = RandomDense(rng); break;
    }
    if (s.out_h() < 1 || s.out_w() < 1) return "";
    ConvCase c(s, rng);
    const bool accumulate = Chance(rng, 0.5);
    std::vector<float> g(c.out_elems());
    FillGradient(rng, &g);
    std::vector<float> dx_ref(c.in_elems());
    FillGradient(rng, &dx_ref);
    std::vector<float> dx = dx_ref;
    RefBackwardInput(&c.params, g.data(), dx_ref.data(), accumulate);
    tte_conv_backward_input_f32(&c.params, g.data(), dx.data(), accumulate);
    const int64_t d = FirstBitDifference(dx_ref.data(), dx.data(), sizeof(float), dx.size());
    if (d >= 0) return "dx differs at " + std::to_string(d) + ": " + s.ToString();
    return "";
  });
}

TEST(PortablePaths, DepthwiseBackwardInputInPlace) {
  Sweep(TestIterations(200), [](std::mt19937& rng) -> std::string {
    ConvSpec s = RandomDepthwise(rng);
    s.stride = 1;
    s.k |= 1;  // odd kernel, "same" padding: dx and g planes have the same size
    s.pad = s.k / 2;
    ConvCase c(s, rng);
    const tte_conv_params& p = c.params;
    std::vector<float> g(c.out_elems());
    FillGradient(rng, &g);
    std::vector<float> dx_ref(c.in_elems());
    RefBackwardInput(&p, g.data(), dx_ref.data(), 0);
    std::vector<float> buf = g, scratch(static_cast<size_t>(s.h) * s.w);
    FillGradient(rng, &scratch);
    tte_conv_dw_backward_input_inplace_f32(&p, buf.data(), scratch.data());
    const int64_t d = FirstBitDifference(dx_ref.data(), buf.data(), sizeof(float), buf.size());
    if (d >= 0) return "dx differs at " + std::to_string(d) + ": " + s.ToString();
    return "";
  });
}

}  // namespace
}  // namespace tte::testing
