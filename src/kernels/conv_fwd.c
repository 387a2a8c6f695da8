/*
 * conv_fwd.c - int8 convolution forward (dense kxk with stride, depthwise, pointwise), with the
 * requantization of the reference's fp32 simulation and an optional 1-bit clamp mask.
 *
 * tte_conv_s8 dispatches to three loops that compute the same thing:
 *   - conv_generic:   any kernel/stride/groups/window (the specification; used by the first conv and
 *                     by patch-based execution);
 *   - conv_pointwise: 1x1, stride 1, groups 1, whole tensors;
 *   - conv_depthwise: groups == cin == cout, whole tensors.
 * Integer accumulation is exact, so the loop order does not change results.
 */
#include <math.h>
#include <string.h>

#include "kernels/tte_kernels.h"

int32_t tte_conv_out_size(int32_t in, int32_t k, int32_t stride, int32_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

void tte_conv_whole(tte_conv_params* p, int32_t in_h, int32_t in_w) {
  p->in_h = in_h;
  p->in_w = in_w;
  p->in_buf.y0 = 0;
  p->in_buf.x0 = 0;
  p->in_buf.h = in_h;
  p->in_buf.w = in_w;
  p->out.y0 = 0;
  p->out.x0 = 0;
  p->out.h = tte_conv_out_size(in_h, p->k, p->stride, p->pad);
  p->out.w = tte_conv_out_size(in_w, p->k, p->stride, p->pad);
  p->out_buf = p->out;
}

/* Requantizes one accumulator; sets *in_range for the clamp mask. */
static inline int8_t requant(int32_t acc, float bias, float eff, float yz, int* in_range) {
  float t = (float)acc + bias;
  float v = rintf(t * eff) + yz;
  *in_range = (v >= -128.0f) && (v <= 127.0f);
  if (v < -128.0f) return (int8_t)-128;
  if (v > 127.0f) return (int8_t)127;
  return (int8_t)(int32_t)v;
}

static inline float bias_of(const tte_conv_params* p, int32_t o) {
  return p->bias_f32 ? p->bias_f32[o] : (float)p->bias_i32[o];
}

static inline void set_mask(uint8_t* mask, size_t n, int bit) {
  if (bit)
    mask[n >> 3] = (uint8_t)(mask[n >> 3] | (1u << (n & 7)));
  else
    mask[n >> 3] = (uint8_t)(mask[n >> 3] & ~(1u << (n & 7)));
}

TTE_HOT static void conv_generic(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int32_t k = p->k, kk = k * k, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  const int32_t bh = p->in_buf.h, bw = p->in_buf.w;
  const float yz = (float)p->y_zero;
  for (int32_t o = 0; o < p->cout; ++o) {
    const int32_t g = o / opg;
    const float bias = bias_of(p, o), eff = p->eff[o];
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
            if (iy < 0 || iy >= p->in_h) continue; /* padding: (x_zero - x_zero) * w = 0 */
            const int8_t* xr = xc + (size_t)(iy - p->in_buf.y0) * (size_t)bw;
            for (int32_t kw = 0; kw < k; ++kw) {
              const int32_t ix = ix0 + kw;
              if (ix < 0 || ix >= p->in_w) continue;
              acc += ((int32_t)xr[ix - p->in_buf.x0] - p->x_zero) * (int32_t)wr[kh * k + kw];
            }
          }
        }
        int in_range;
        const size_t n = ((size_t)o * (size_t)p->out_buf.h + (size_t)(p->out.y0 + oy - p->out_buf.y0)) * (size_t)p->out_buf.w +
                         (size_t)(p->out.x0 + ox - p->out_buf.x0);
        y[n] = requant(acc, bias, eff, yz, &in_range);
        if (mask) set_mask(mask, n, in_range);
      }
    }
  }
}

#define TTE_PW_TILE 64

TTE_HOT static void conv_pointwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int32_t hw = p->in_h * p->in_w, cin = p->cin;
  const float yz = (float)p->y_zero;
  int32_t acc[TTE_PW_TILE];
  for (int32_t o = 0; o < p->cout; ++o) {
    const float bias = bias_of(p, o), eff = p->eff[o];
    for (int32_t p0 = 0; p0 < hw; p0 += TTE_PW_TILE) {
      const int32_t nt = hw - p0 < TTE_PW_TILE ? hw - p0 : TTE_PW_TILE;
      for (int32_t t = 0; t < nt; ++t) acc[t] = 0;
      for (int32_t i = 0; i < cin; ++i) {
        const int32_t wv = (int32_t)*tte_weight_row(&p->w, o, i, i, 1, 0, cin);
        const int8_t* xi = x + (size_t)i * (size_t)hw + (size_t)p0;
        for (int32_t t = 0; t < nt; ++t) acc[t] += ((int32_t)xi[t] - p->x_zero) * wv;
      }
      for (int32_t t = 0; t < nt; ++t) {
        int in_range;
        const size_t n = (size_t)o * (size_t)hw + (size_t)(p0 + t);
        y[n] = requant(acc[t], bias, eff, yz, &in_range);
        if (mask) set_mask(mask, n, in_range);
      }
    }
  }
}

/* One channel c of a depthwise conv (whole tensors): xc = input plane, yc = output plane; mask bits are
 * written at c * out_plane + q. */
TTE_HOT static void depthwise_channel(const tte_conv_params* p, int32_t c, const int8_t* xc, int8_t* yc, uint8_t* mask) {
  const int32_t k = p->k, s = p->stride, pad = p->pad, h = p->in_h, w = p->in_w;
  const int32_t oh = p->out.h, ow = p->out.w;
  const float yz = (float)p->y_zero;
  const int8_t* wr = tte_weight_row(&p->w, c, 0, c, k * k, 1, 1);
  const float bias = bias_of(p, c), eff = p->eff[c];
  const size_t mask_base = (size_t)c * (size_t)oh * (size_t)ow;
  for (int32_t oy = 0; oy < oh; ++oy) {
    const int32_t iy0 = oy * s - pad;
    const int32_t kh0 = iy0 < 0 ? -iy0 : 0, kh1 = iy0 + k > h ? h - iy0 : k;
    for (int32_t ox = 0; ox < ow; ++ox) {
      const int32_t ix0 = ox * s - pad;
      const int32_t kw0 = ix0 < 0 ? -ix0 : 0, kw1 = ix0 + k > w ? w - ix0 : k;
      int32_t acc = 0;
      for (int32_t kh = kh0; kh < kh1; ++kh) {
        const int8_t* xr = xc + (size_t)(iy0 + kh) * (size_t)w + ix0;
        for (int32_t kw = kw0; kw < kw1; ++kw) acc += ((int32_t)xr[kw] - p->x_zero) * (int32_t)wr[kh * k + kw];
      }
      int in_range;
      const size_t q = (size_t)oy * (size_t)ow + (size_t)ox;
      yc[q] = requant(acc, bias, eff, yz, &in_range);
      if (mask) set_mask(mask, mask_base + q, in_range);
    }
  }
}

static void conv_depthwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out.h * (size_t)p->out.w;
  for (int32_t c = 0; c < p->cout; ++c) depthwise_channel(p, c, x + (size_t)c * in_plane, y + (size_t)c * out_plane, mask);
}

void tte_conv_dw_inplace_s8(const tte_conv_params* p, int8_t* buf, int8_t* scratch, uint8_t* mask) {
  const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out.h * (size_t)p->out.w;
  for (int32_t c = 0; c < p->cout; ++c) {
    depthwise_channel(p, c, buf + (size_t)c * in_plane, scratch, mask);
    memcpy(buf + (size_t)c * out_plane, scratch, out_plane);
  }
}

void tte_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int whole = p->in_buf.y0 == 0 && p->in_buf.x0 == 0 && p->in_buf.h == p->in_h && p->in_buf.w == p->in_w &&
                    p->out.y0 == 0 && p->out.x0 == 0 &&
                    p->out.h == tte_conv_out_size(p->in_h, p->k, p->stride, p->pad) &&
                    p->out.w == tte_conv_out_size(p->in_w, p->k, p->stride, p->pad) && p->out_buf.y0 == 0 &&
                    p->out_buf.x0 == 0 && p->out_buf.h == p->out.h && p->out_buf.w == p->out.w;
  if (whole && p->k == 1 && p->stride == 1 && p->pad == 0 && p->groups == 1) {
    conv_pointwise(p, x, y, mask);
  } else if (whole && p->groups == p->cin && p->cin == p->cout && p->groups > 1) {
    conv_depthwise(p, x, y, mask);
  } else {
    conv_generic(p, x, y, mask);
  }
}
