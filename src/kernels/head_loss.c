/*
 * head_loss.c - the fp32 classifier head (a Linear layer over the dequantized pooled int8 features,
 * as the reference's ScaledLinear), softmax cross-entropy, and portable expf/logf.
 *
 * tte_expf/tte_logf use only +, *, / and integer bit manipulation, so the host (glibc) and the
 * Cortex-M (newlib) produce identical bits; accuracy is within ~2 ulp, far below what training needs.
 */
#include <math.h>
#include <string.h>

#include "kernels/tte_kernels.h"

static float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static uint32_t float_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

float tte_expf(float x) {
  if (x != x) return x;
  if (x > 88.7f) return bits_to_float(0x7f800000u); /* +inf */
  if (x < -103.9f) return 0.0f;
  /* x = k*ln2 + r, |r| <= ln2/2; ln2 split in a high part exact in fp32 and a low part. */
  const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  const float kf = rintf(x * kLog2e);
  const int32_t k = (int32_t)kf;
  const float r = (x - kf * kLn2Hi) - kf * kLn2Lo;
  /* exp(r) by its Taylor polynomial to degree 7 (|r| < 0.35: error < 1e-9 relative). */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  /* multiply by 2^k in two steps so that subnormal results are formed correctly */
  if (k > -126) return p * bits_to_float((uint32_t)(k + 127) << 23);
  return (p * bits_to_float((uint32_t)(k + 127 + 64) << 23)) * bits_to_float((uint32_t)(127 - 64) << 23);
}

float tte_logf(float x) {
  if (x != x || x < 0.0f) return bits_to_float(0x7fc00000u); /* NaN */
  if (x == 0.0f) return bits_to_float(0xff800000u);         /* -inf */
  if (x == bits_to_float(0x7f800000u)) return x;
  int32_t e = 0;
  if (x < 1.17549435e-38f) { /* subnormal: scale up by 2^64 */
    x *= 18446744073709551616.0f;
    e = -64;
  }
  uint32_t u = float_to_bits(x);
  e += (int32_t)((u >> 23) & 0xff) - 127;
  float m = bits_to_float((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  if (m > 1.41421356f) {
    m *= 0.5f;
    e += 1;
  }
  /* log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716 */
  const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float q = 1.0f / 11.0f;
  q = q * s2 + 1.0f / 9.0f;
  q = q * s2 + 1.0f / 7.0f;
  q = q * s2 + 1.0f / 5.0f;
  q = q * s2 + 1.0f / 3.0f;
  q = q * s2 + 1.0f;
  const float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  return ((2.0f * s) * q + (float)e * kLn2Lo) + (float)e * kLn2Hi;
}

void tte_head_forward(const tte_head_params* p, const float* W, const float* b, const int8_t* x, float* logits) {
  for (int32_t n = 0; n < p->out; ++n) {
    const float* w = W + (size_t)n * (size_t)p->in;
    float acc = 0.0f;
    for (int32_t c = 0; c < p->in; ++c) acc += w[c] * ((float)((int32_t)x[c] - p->x_zero) * p->x_scale);
    logits[n] = acc + b[n];
  }
}

float tte_softmax_xent(int32_t n, const float* logits, int32_t label, float* dlogits) {
  float m = logits[0];
  for (int32_t i = 1; i < n; ++i)
    if (logits[i] > m) m = logits[i];
  float sum = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    dlogits[i] = tte_expf(logits[i] - m);
    sum += dlogits[i];
  }
  const float lse = m + tte_logf(sum);
  for (int32_t i = 0; i < n; ++i) dlogits[i] = dlogits[i] / sum - (i == label ? 1.0f : 0.0f);
  return lse - logits[label];
}

void tte_head_backward(const tte_head_params* p, float* W, float* b, float* mW, float* mb, const tte_sgd* opt,
                       const int8_t* x, const float* dlogits, float* dx, float* gW, float* gb) {
  if (dx) {
    for (int32_t c = 0; c < p->in; ++c) {
      float acc = 0.0f;
      for (int32_t n = 0; n < p->out; ++n) acc += W[(size_t)n * (size_t)p->in + c] * dlogits[n];
      dx[c] = acc * p->x_scale;
    }
  }
  for (int32_t n = 0; n < p->out; ++n) {
    for (int32_t c = 0; c < p->in; ++c) {
      const size_t e = (size_t)n * (size_t)p->in + (size_t)c;
      const float g = dlogits[n] * ((float)((int32_t)x[c] - p->x_zero) * p->x_scale);
      if (opt)
        tte_sgd_f32(opt, &W[e], mW ? &mW[e] : 0, g);
      else
        gW[e] += g;
    }
    if (opt)
      tte_sgd_f32(opt, &b[n], mb ? &mb[n] : 0, dlogits[n]);
    else
      gb[n] += dlogits[n];
  }
}

void tte_head_apply_update(const tte_head_params* p, const tte_sgd* opt, float* W, float* b, float* mW, float* mb,
                           float* gW, float* gb) {
  const size_t nw = (size_t)p->out * (size_t)p->in;
  for (size_t e = 0; e < nw; ++e) {
    tte_sgd_f32(opt, &W[e], mW ? &mW[e] : 0, gW[e]);
    gW[e] = 0.0f;
  }
  for (int32_t n = 0; n < p->out; ++n) {
    tte_sgd_f32(opt, &b[n], mb ? &mb[n] : 0, gb[n]);
    gb[n] = 0.0f;
  }
}
