/*
 * eltwise_bwd.c - backward of the clamp masks, the per-channel effective scale, the residual add
 * and the global average pool (fp32, elementwise, in place where the op allows it).
 */
#include "kernels/tte_kernels.h"

static inline int mask_bit(const uint8_t* mask, size_t n) { return !mask || ((mask[n >> 3] >> (n & 7)) & 1u); }

TTE_HOT void tte_mask_scale_f32(int32_t c, int32_t hw, float* g, const uint8_t* mask, const float* eff) {
  for (int32_t ch = 0; ch < c; ++ch) {
    const float e = eff ? eff[ch] : 1.0f;
    float* gc = g + (size_t)ch * (size_t)hw;
    for (int32_t p = 0; p < hw; ++p) {
      const size_t n = (size_t)ch * (size_t)hw + (size_t)p;
      gc[p] = mask_bit(mask, n) ? (eff ? gc[p] * e : gc[p]) : 0.0f;
    }
  }
}

void tte_add_backward_f32(const tte_add_params* p, float* g, const uint8_t* mask, float* gx1, int32_t accumulate_x1,
                          float* gx2) {
  for (int32_t n = 0; n < p->n; ++n) {
    const float v = mask_bit(mask, (size_t)n) ? g[n] : 0.0f;
    const float a = (v * p->s1) / p->sy;
    const float b = (v * p->s2) / p->sy;
    if (gx1) gx1[n] = accumulate_x1 ? gx1[n] + a : a;
    gx2[n] = b;
  }
}

void tte_avgpool_backward_f32(int32_t c, int32_t hw, const float* gp, float* g) {
  for (int32_t ch = 0; ch < c; ++ch) {
    const float v = gp[ch] / (float)hw;
    for (int32_t p = 0; p < hw; ++p) g[(size_t)ch * (size_t)hw + (size_t)p] = v;
  }
}

void tte_accumulate_f32(int32_t n, const float* g, float* acc) {
  for (int32_t i = 0; i < n; ++i) acc[i] = acc[i] + g[i];
}
