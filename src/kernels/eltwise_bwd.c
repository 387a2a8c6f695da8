/*
 * eltwise_bwd.c - backward of the clamp masks, the per-channel effective scale, the residual add, the
 * average pools (global and windowed) and the mean (fp32, in the integer domain, in place where the op
 * allows it).
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

/* Output windows containing input row (or column) y: o with o*s - pad <= y <= o*s - pad + k - 1, in [0, out). */
static void windows_containing(int32_t y, int32_t k, int32_t s, int32_t pad, int32_t out, int32_t* o0, int32_t* o1) {
  const int32_t hi = y + pad;          /* o*s <= hi */
  const int32_t lo = y + pad - k + 1;  /* o*s >= lo */
  int32_t a = lo <= 0 ? 0 : (lo + s - 1) / s, b = hi < 0 ? -1 : hi / s;
  if (b > out - 1) b = out - 1;
  *o0 = a;
  *o1 = b + 1; /* empty when o1 <= o0 */
}

/* In-image count of window (oy, ox). */
static int32_t window_count(const tte_pool_params* p, int32_t oy, int32_t ox) {
  const int32_t y0 = oy * p->sh - p->pad_t, x0 = ox * p->sw - p->pad_l;
  const int32_t r0 = y0 < 0 ? 0 : y0, r1 = y0 + p->kh > p->in_h ? p->in_h : y0 + p->kh;
  const int32_t c0 = x0 < 0 ? 0 : x0, c1 = x0 + p->kw > p->in_w ? p->in_w : x0 + p->kw;
  return (r1 > r0 ? r1 - r0 : 0) * (c1 > c0 ? c1 - c0 : 0);
}

void tte_avgpool2d_backward_f32(const tte_pool_params* p, const float* gy, float* gx) {
  const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out_h * (size_t)p->out_w;
  for (int32_t ch = 0; ch < p->c; ++ch) {
    const float* gc = gy + (size_t)ch * out_plane;
    for (int32_t y = 0; y < p->in_h; ++y) {
      int32_t oy0, oy1;
      windows_containing(y, p->kh, p->sh, p->pad_t, p->out_h, &oy0, &oy1);
      for (int32_t x = 0; x < p->in_w; ++x) {
        int32_t ox0, ox1, terms = 0;
        float acc = -0.0f;
        windows_containing(x, p->kw, p->sw, p->pad_l, p->out_w, &ox0, &ox1);
        for (int32_t oy = oy0; oy < oy1; ++oy)
          for (int32_t ox = ox0; ox < ox1; ++ox) {
            acc += gc[(size_t)oy * (size_t)p->out_w + (size_t)ox] / (float)window_count(p, oy, ox);
            ++terms;
          }
        gx[(size_t)ch * in_plane + (size_t)y * (size_t)p->in_w + (size_t)x] = terms ? acc : 0.0f;
      }
    }
  }
}

void tte_mean_backward_f32(const tte_mean_params* p, const float* gy, float* gx) {
  const float den = (float)p->hw * p->s_y;
  for (int32_t ch = 0; ch < p->c; ++ch) {
    const float v = (gy[ch] * p->s_x) / den;
    for (int32_t i = 0; i < p->hw; ++i) gx[(size_t)ch * (size_t)p->hw + (size_t)i] = v;
  }
}
