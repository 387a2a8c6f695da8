// Spec tests of the portable fp32 kernels (head_loss.c, eltwise_bwd.c):
//   - finite differences: tte_softmax_xent's gradient vs central differences of its loss; the head's dx,
//     dW and db (tte_head_backward) vs central differences of loss(head(x)) (dx with +-1 steps of the
//     integer-valued features: the loss is smooth in the dequantized feature, a step is x_scale);
//   - definitions, bit for bit: tte_mask_scale_f32 (mask, eff, NULL variants), tte_add_backward_f32 (mask,
//     scales, accumulate, gx1 == NULL, gx2 aliasing g), tte_avgpool_backward_f32;
//   - the head's fused update equals the unfused gradient followed by tte_head_apply_update, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/tte_kernels.h"

namespace tte::testing {
namespace {

bool Bit(const std::vector<uint8_t>& m, size_t n) { return (m[n >> 3] >> (n & 7)) & 1; }

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(SoftmaxXent, GradientMatchesCentralDifferencesOfTheLoss) {
  const uint32_t seed = TestSeed();
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int it = 0; it < 20; ++it) {
    const int32_t n = 2 + it % 11, label = static_cast<int32_t>(rng() % n);
    std::vector<float> z(n), dz(n), tmp(n);
    for (float& v : z) v = normal(rng);
    const float loss = tte_softmax_xent(n, z.data(), label, dz.data());
    // Loss against a double-precision log-sum-exp.
    double m = z[0], s = 0;
    for (float v : z) m = std::max(m, static_cast<double>(v));
    for (float v : z) s += std::exp(v - m);
    EXPECT_NEAR(loss, m + std::log(s) - z[label], 1e-5 * (1 + std::fabs(loss)));
    double sum = 0;
    for (int32_t i = 0; i < n; ++i) {
      const float h = 1e-2f;
      std::vector<float> zp = z, zm = z;
      zp[i] += h;
      zm[i] -= h;
      const double fd = (static_cast<double>(tte_softmax_xent(n, zp.data(), label, tmp.data())) -
                         tte_softmax_xent(n, zm.data(), label, tmp.data())) /
                        (static_cast<double>(zp[i]) - zm[i]);
      EXPECT_NEAR(dz[i], fd, 5e-4) << "logit " << i << " of " << n << "; " << ReplayHint(seed);
      sum += dz[i];
    }
    EXPECT_NEAR(sum, 0.0, 1e-6);
  }
}

struct Head {
  tte_head_params p{};
  std::vector<float> W, b;
  std::vector<int8_t> x;
  float Loss(const std::vector<float>& w, const std::vector<float>& bias, const std::vector<int8_t>& xx,
             int32_t label) const {
    std::vector<float> logits(p.out), d(p.out);
    tte_head_forward(&p, w.data(), bias.data(), xx.data(), logits.data());
    return tte_softmax_xent(p.out, logits.data(), label, d.data());
  }
};

Head RandomHead(std::mt19937& rng) {
  Head h;
  h.p = tte_head_params{24, 10, std::uniform_int_distribution<int32_t>(-20, 20)(rng), 0.05f};
  std::normal_distribution<float> normal(0.0f, 0.3f);
  h.W.resize(static_cast<size_t>(h.p.in) * h.p.out);
  h.b.resize(h.p.out);
  for (float& v : h.W) v = normal(rng);
  for (float& v : h.b) v = normal(rng);
  h.x.resize(h.p.in);
  for (int8_t& v : h.x) v = static_cast<int8_t>(std::uniform_int_distribution<int32_t>(-127, 126)(rng));
  return h;
}

TEST(HeadBackward, GradientsMatchCentralDifferencesOfTheLoss) {
  const uint32_t seed = TestSeed();
  std::mt19937 rng(seed);
  for (int it = 0; it < 5; ++it) {
    Head h = RandomHead(rng);
    const int32_t label = static_cast<int32_t>(rng() % h.p.out);
    std::vector<float> logits(h.p.out), dl(h.p.out), dx(h.p.in), gW(h.W.size(), 0.0f), gb(h.p.out, 0.0f);
    tte_head_forward(&h.p, h.W.data(), h.b.data(), h.x.data(), logits.data());
    tte_softmax_xent(h.p.out, logits.data(), label, dl.data());
    std::vector<float> W = h.W, b = h.b;
    tte_head_backward(&h.p, W.data(), b.data(), nullptr, nullptr, nullptr, h.x.data(), dl.data(), dx.data(), gW.data(),
                      gb.data());
    EXPECT_TRUE(SameBits(W, h.W) && SameBits(b, h.b)) << "opt == NULL must not update";
    const float eps = 1e-2f;
    for (size_t e = 0; e < h.W.size(); e += 7) {
      std::vector<float> wp = h.W, wm = h.W;
      wp[e] += eps;
      wm[e] -= eps;
      const double fd = (static_cast<double>(h.Loss(wp, h.b, h.x, label)) - h.Loss(wm, h.b, h.x, label)) /
                        (static_cast<double>(wp[e]) - wm[e]);
      EXPECT_NEAR(gW[e], fd, 5e-4 + 5e-4 * std::fabs(fd)) << "dW[" << e << "]; " << ReplayHint(seed);
    }
    for (int32_t n = 0; n < h.p.out; ++n) {
      std::vector<float> bp = h.b, bm = h.b;
      bp[n] += eps;
      bm[n] -= eps;
      const double fd = (static_cast<double>(h.Loss(h.W, bp, h.x, label)) - h.Loss(h.W, bm, h.x, label)) /
                        (static_cast<double>(bp[n]) - bm[n]);
      EXPECT_NEAR(gb[n], fd, 5e-4 + 5e-4 * std::fabs(fd)) << "db[" << n << "]";
    }
    for (int32_t c = 0; c < h.p.in; ++c) {
      std::vector<int8_t> xp = h.x, xm = h.x;
      xp[c] = static_cast<int8_t>(xp[c] + 1);
      xm[c] = static_cast<int8_t>(xm[c] - 1);
      const double fd = (static_cast<double>(h.Loss(h.W, h.b, xp, label)) - h.Loss(h.W, h.b, xm, label)) / 2.0;
      EXPECT_NEAR(dx[c], fd, 5e-5 + 5e-3 * std::fabs(fd)) << "dx[" << c << "]";
    }
  }
}

TEST(HeadBackward, FusedUpdateEqualsGradientThenApply) {
  std::mt19937 rng(TestSeed());
  Head h = RandomHead(rng);
  std::vector<float> dl(h.p.out);
  FillGradient(rng, &dl);
  std::vector<float> mW(h.W.size()), mb(h.b.size());
  FillGradient(rng, &mW);
  FillGradient(rng, &mb);
  tte_sgd opt{};
  opt.lr = 0.125f;
  opt.momentum = 0.9f;
  opt.grad_scale = 1.0f;
  // Fused.
  std::vector<float> W1 = h.W, b1 = h.b, mW1 = mW, mb1 = mb, dx1(h.p.in);
  tte_head_backward(&h.p, W1.data(), b1.data(), mW1.data(), mb1.data(), &opt, h.x.data(), dl.data(), dx1.data(),
                    nullptr, nullptr);
  // Unfused, then applied.
  std::vector<float> W2 = h.W, b2 = h.b, mW2 = mW, mb2 = mb, dx2(h.p.in), gW(h.W.size(), 0.0f), gb(h.p.out, 0.0f);
  tte_head_backward(&h.p, W2.data(), b2.data(), mW2.data(), mb2.data(), nullptr, h.x.data(), dl.data(), dx2.data(),
                    gW.data(), gb.data());
  tte_head_apply_update(&h.p, &opt, W2.data(), b2.data(), mW2.data(), mb2.data(), gW.data(), gb.data());
  EXPECT_TRUE(SameBits(W1, W2));
  EXPECT_TRUE(SameBits(b1, b2));
  EXPECT_TRUE(SameBits(mW1, mW2));
  EXPECT_TRUE(SameBits(mb1, mb2));
  EXPECT_TRUE(SameBits(dx1, dx2)) << "dx uses the weights before the update";
  for (float v : gW) EXPECT_EQ(v, 0.0f) << "apply zeroes the gradient buffers";
}

TEST(MaskScale, MatchesItsDefinition) {
  std::mt19937 rng(TestSeed());
  const int32_t c = 3, hw = 29;
  std::vector<float> g(static_cast<size_t>(c) * hw), eff(c);
  FillGradient(rng, &g);
  FillGradient(rng, &eff);
  std::vector<uint8_t> mask((g.size() + 7) / 8);
  for (uint8_t& m : mask) m = static_cast<uint8_t>(rng());
  for (int variant = 0; variant < 4; ++variant) {
    const bool use_mask = variant & 1, use_eff = variant & 2;
    std::vector<float> got = g, want = g;
    for (size_t n = 0; n < g.size(); ++n) {
      const bool pass = !use_mask || Bit(mask, n);
      want[n] = pass ? (use_eff ? g[n] * eff[n / hw] : g[n]) : 0.0f;
    }
    tte_mask_scale_f32(c, hw, got.data(), use_mask ? mask.data() : nullptr, use_eff ? eff.data() : nullptr);
    EXPECT_TRUE(SameBits(want, got)) << "mask " << use_mask << " eff " << use_eff;
  }
}

TEST(AddBackward, MatchesItsDefinition) {
  std::mt19937 rng(TestSeed());
  const int32_t n = 45;
  tte_add_params p{};
  p.n = n;
  p.z1 = 3;
  p.z2 = -7;
  p.zy = 11;
  p.s1 = 0.031f;
  p.s2 = 0.047f;
  p.sy = 0.059f;
  std::vector<float> g(n), gx1_init(n);
  FillGradient(rng, &g);
  FillGradient(rng, &gx1_init);
  std::vector<uint8_t> mask((n + 7) / 8);
  for (uint8_t& m : mask) m = static_cast<uint8_t>(rng());
  for (int variant = 0; variant < 8; ++variant) {
    const bool use_mask = variant & 1, acc = variant & 2, no_x1 = variant & 4;
    std::vector<float> want1 = gx1_init, want2(n);
    for (int32_t i = 0; i < n; ++i) {
      const float v = (!use_mask || Bit(mask, static_cast<size_t>(i))) ? g[i] : 0.0f;
      const float a = (v * p.s1) / p.sy, b = (v * p.s2) / p.sy;
      want1[i] = acc ? gx1_init[i] + a : a;
      want2[i] = b;
    }
    // gx2 aliases g (in place), as the executor runs it.
    std::vector<float> buf = g, gx1 = gx1_init;
    tte_add_backward_f32(&p, buf.data(), use_mask ? mask.data() : nullptr, no_x1 ? nullptr : gx1.data(), acc, buf.data());
    EXPECT_TRUE(SameBits(want2, buf)) << "gx2, variant " << variant;
    if (!no_x1) {
      EXPECT_TRUE(SameBits(want1, gx1)) << "gx1, variant " << variant;
    } else {
      EXPECT_TRUE(SameBits(gx1_init, gx1)) << "gx1 == NULL: the buffer is not touched";
    }
  }
  // The scales are the forward's derivatives: y = ((x1 - z1) s1 + (x2 - z2) s2) / sy.
  std::vector<float> one = {1.0f}, gx1(1), gx2(1);
  tte_add_params q = p;
  q.n = 1;
  tte_add_backward_f32(&q, one.data(), nullptr, gx1.data(), 0, gx2.data());
  EXPECT_FLOAT_EQ(gx1[0], p.s1 / p.sy);
  EXPECT_FLOAT_EQ(gx2[0], p.s2 / p.sy);
}

TEST(AvgPoolBackward, SpreadsTheMeanGradient) {
  std::mt19937 rng(TestSeed());
  const int32_t c = 4, hw = 49;
  std::vector<float> gp(c), g(static_cast<size_t>(c) * hw, -1.0f);
  FillGradient(rng, &gp);
  tte_avgpool_backward_f32(c, hw, gp.data(), g.data());
  for (int32_t ch = 0; ch < c; ++ch)
    for (int32_t q = 0; q < hw; ++q) {
      const float want = gp[ch] / static_cast<float>(hw);
      ASSERT_EQ(0, std::memcmp(&want, &g[static_cast<size_t>(ch) * hw + q], sizeof(float)));
    }
  // Finite difference of the forward mean (in the integer domain, before rounding): d mean / d x = 1 / hw.
  EXPECT_FLOAT_EQ(g[0] * static_cast<float>(hw), gp[0]);
}

}  // namespace
}  // namespace tte::testing
