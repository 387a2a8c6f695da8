/*
 * conv_fwd.c - int8 convolution forward (dense kxk with stride, depthwise, pointwise), with the
 * requantization of the reference's fp32 simulation and an optional 1-bit clamp mask.
 *
 * tte_conv_s8 dispatches to loops that compute the same thing:
 *   - conv_generic:   any kernel/stride/groups/window (the specification, and the fallback);
 *   - conv_pointwise: 1x1, stride 1, groups 1, whole tensors or patch windows (register-blocked);
 *   - conv_depthwise: groups == cin == cout, whole tensors.
 * Integer accumulation is exact, so the loop order, register blocking and the zero-point identity
 * sum (x - zx) * w = sum x * w - zx * sum w do not change results; requant() is the same fp32 code for
 * every path. tests/kernels/portable_paths_test.cc compares every fast path with the generic loop.
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

/* ---- pointwise (1x1, stride 1, pad 0, groups 1), whole tensors or windows
 *
 * Pixel c of row r reads x[i * x_plane + x0 + r * x_row + c] and writes y[o * y_plane + y0 + r * y_row + c]
 * (mask bit at the same index). Two output channels times four pixels of int32 accumulators stay in
 * registers over the cin loop. The zero point uses sum_i (x - zx) * w = sum_i x * w - zx * sum_i w (exact
 * in int32): the accumulators start at -zx * sum_i w. Weight rows are read in place (slot == NULL) or
 * gathered on the stack (split weights, up to TTE_PW_MAXC input channels; wider split convs take
 * conv_generic). */
#define TTE_PW_MAXC 512

typedef struct {
  int32_t rows, cols;    /* window size (rows of `cols` pixels) */
  size_t x_plane, x_row; /* input channel plane and row stride in the x buffer */
  size_t y_plane, y_row; /* output channel plane and row stride in the y buffer */
  size_t x0, y0;         /* offset of the window's first pixel in a plane of x / y */
} pw_geom;

static inline void put_out(int8_t* y, uint8_t* mask, size_t n, int32_t acc, float bias, float eff, float yz) {
  int in_range;
  y[n] = requant(acc, bias, eff, yz, &in_range);
  if (mask) set_mask(mask, n, in_range);
}

/* The cin weights of output channel o: in place, or gathered into buf. */
static const int8_t* pw_weight_row(const tte_conv_params* p, int32_t o, int8_t* buf) {
  const int32_t cin = p->cin;
  if (!p->w.slot) return p->w.frozen + (size_t)o * (size_t)cin;
  for (int32_t i = 0; i < cin; ++i) buf[i] = *tte_weight_row(&p->w, o, i, i, 1, 0, cin);
  return buf;
}

static int32_t pw_zero_term(const int8_t* w, int32_t cin, int32_t zx) {
  int32_t s = 0;
  for (int32_t i = 0; i < cin; ++i) s += w[i];
  return -zx * s;
}

TTE_HOT static void pw_run(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int32_t cin = p->cin, cout = p->cout, cols = g->cols;
  const size_t xp = g->x_plane;
  const float yz = (float)p->y_zero;
  int8_t wbuf[2][TTE_PW_MAXC];
  for (int32_t o = 0; o < cout; o += 2) {
    const int two = o + 1 < cout; /* odd cout: the last channel is computed twice, written once */
    const int32_t o1 = two ? o + 1 : o;
    const int8_t* w0 = pw_weight_row(p, o, wbuf[0]);
    const int8_t* w1 = two ? pw_weight_row(p, o1, wbuf[1]) : w0;
    const int32_t z0 = pw_zero_term(w0, cin, p->x_zero), z1 = pw_zero_term(w1, cin, p->x_zero);
    const float bias0 = bias_of(p, o), eff0 = p->eff[o], bias1 = bias_of(p, o1), eff1 = p->eff[o1];
    for (int32_t r = 0; r < g->rows; ++r) {
      const int8_t* xr = x + g->x0 + (size_t)r * g->x_row;
      const size_t n0 = (size_t)o * g->y_plane + g->y0 + (size_t)r * g->y_row;
      const size_t n1 = n0 + g->y_plane;
      int32_t c = 0;
      for (; c + 4 <= cols; c += 4) {
        int32_t a0 = z0, a1 = z0, a2 = z0, a3 = z0, b0 = z1, b1 = z1, b2 = z1, b3 = z1;
        const int8_t* xi = xr + c;
        for (int32_t i = 0; i < cin; ++i) {
          const int32_t u = w0[i], v = w1[i];
          int32_t t = xi[0];
          a0 += t * u;
          b0 += t * v;
          t = xi[1];
          a1 += t * u;
          b1 += t * v;
          t = xi[2];
          a2 += t * u;
          b2 += t * v;
          t = xi[3];
          a3 += t * u;
          b3 += t * v;
          xi += xp;
        }
        put_out(y, mask, n0 + (size_t)c, a0, bias0, eff0, yz);
        put_out(y, mask, n0 + (size_t)c + 1, a1, bias0, eff0, yz);
        put_out(y, mask, n0 + (size_t)c + 2, a2, bias0, eff0, yz);
        put_out(y, mask, n0 + (size_t)c + 3, a3, bias0, eff0, yz);
        if (two) {
          put_out(y, mask, n1 + (size_t)c, b0, bias1, eff1, yz);
          put_out(y, mask, n1 + (size_t)c + 1, b1, bias1, eff1, yz);
          put_out(y, mask, n1 + (size_t)c + 2, b2, bias1, eff1, yz);
          put_out(y, mask, n1 + (size_t)c + 3, b3, bias1, eff1, yz);
        }
      }
      for (; c < cols; ++c) {
        int32_t a = z0, b = z1;
        const int8_t* xi = xr + c;
        for (int32_t i = 0; i < cin; ++i) {
          const int32_t t = *xi;
          a += t * w0[i];
          b += t * w1[i];
          xi += xp;
        }
        put_out(y, mask, n0 + (size_t)c, a, bias0, eff0, yz);
        if (two) put_out(y, mask, n1 + (size_t)c, b, bias1, eff1, yz);
      }
    }
  }
}

/* The pointwise fast path for the windows of p (in_buf, out, out_buf), or 0 if it does not apply. */
static int conv_pointwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  pw_geom g;
  if (p->k != 1 || p->stride != 1 || p->pad != 0 || p->groups != 1) return 0;
  if (p->w.slot && p->cin > TTE_PW_MAXC) return 0;
  g.rows = p->out.h;
  g.cols = p->out.w;
  g.x_row = (size_t)p->in_buf.w;
  g.x_plane = (size_t)p->in_buf.h * g.x_row;
  g.y_row = (size_t)p->out_buf.w;
  g.y_plane = (size_t)p->out_buf.h * g.y_row;
  g.x0 = (size_t)(p->out.y0 - p->in_buf.y0) * g.x_row + (size_t)(p->out.x0 - p->in_buf.x0);
  g.y0 = (size_t)(p->out.y0 - p->out_buf.y0) * g.y_row + (size_t)(p->out.x0 - p->out_buf.x0);
  if (g.rows > 1 && g.x_row == (size_t)g.cols && g.y_row == (size_t)g.cols) { /* contiguous rows: one row */
    g.cols *= g.rows;
    g.rows = 1;
  }
  if (g.rows > 0 && g.cols > 0) pw_run(p, &g, x, y, mask);
  return 1;
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
  if (conv_pointwise(p, x, y, mask)) {
    return;
  } else if (whole && p->groups == p->cin && p->cin == p->cout && p->groups > 1) {
    conv_depthwise(p, x, y, mask);
  } else {
    conv_generic(p, x, y, mask);
  }
}
