/*
 * conv_fwd.c - int8 convolution forward (dense kxk with stride, depthwise, pointwise), with the
 * requantization of the reference's fp32 simulation and an optional 1-bit clamp mask.
 *
 * tte_conv_s8 dispatches to loops that compute the same thing:
 *   - conv_generic:   any kernel/stride/groups/window (the specification, and the fallback);
 *   - conv_pointwise: 1x1, stride 1, groups 1, whole tensors or patch windows (register-blocked);
 *   - conv_direct:    kxk convs (dense, depthwise, grouped), whole tensors or windows: interior pixels
 *                     four at a time without bounds checks, border pixels through the checked loop;
 *                     also tte_conv_dw_inplace_s8.
 * Integer accumulation is exact, so the loop order, register blocking and the zero-point identity
 * sum (x - zx) * w = sum x * w - zx * sum w do not change results; requant() is the same fp32 code for
 * every path. tests/kernels/portable_paths_test.cc compares every fast path with the generic loop (on
 * the host; the Cortex-M DSP variant of the pointwise loop through a C emulation of its instructions,
 * and by the QEMU parity tests).
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

/* Requantizes one accumulator; sets *in_range for the clamp mask. The in-range case is tested first so
 * that it costs two comparisons; every input (NaN included) gives the result of
 *   in_range = v >= -128 && v <= 127; v < -128 ? -128 : v > 127 ? 127 : (int8_t)(int32_t)v. */
static inline int8_t requant(int32_t acc, float bias, float eff, float yz, int* in_range) {
  float t = (float)acc + bias;
  float v = rintf(t * eff) + yz;
  if (v >= -128.0f && v <= 127.0f) {
    *in_range = 1;
    return (int8_t)(int32_t)v;
  }
  *in_range = 0;
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

/* Cortex-M DSP extension (ARMv7E-M): input channels are taken in pairs (i, i + 1). The weights of the two
 * output channels are packed per pair as int16 halves, (w0[i], w0[i+1]) and (w1[i], w1[i+1]); four pixels
 * of channels i and i + 1 (two word loads) are rearranged into the four int16 pairs (x_i[c], x_i+1[c])
 * with PKHBT / PKHTB and SXTB16, and each pair is accumulated by SMLAD (x_i * w_i + x_i+1 * w_i+1 + acc:
 * the same exact integer products and sums as the portable loop, in another order). An odd last channel
 * takes SMLABB / SMLABT. Other targets use the portable loop. TTE_PW_DSP_EMULATE (tests only) compiles
 * the same loop with C versions of the instructions, so that the host tests check it. */
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_PW_DSP_EMULATE)
#include <arm_acle.h>
#define TTE_PW_DSP 1
/* bytes 0, 1 of a and bytes 2, 3 of b << 16 | bytes 2, 3 of a >> 16 and bytes 2, 3 of b */
static inline uint32_t tte_pkhbt16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline uint32_t tte_pkhtb16(uint32_t b, uint32_t a) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
}
static inline int32_t tte_sxtb16(uint32_t a) { return (int32_t)__sxtb16((int8x4_t)a); }
static inline int32_t tte_sxtb16_ror8(uint32_t a) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(a));
  return (int32_t)r;
}
#define tte_smlad(x, w, acc) __smlad((int16x2_t)(x), (int16x2_t)(w), (acc))
#define tte_smlabb(x, w, acc) __smlabb((x), (w), (acc))
#define tte_smlabt(x, w, acc) __smlabt((x), (w), (acc))
#elif defined(TTE_PW_DSP_EMULATE)
#define TTE_PW_DSP 1
static inline uint32_t tte_pkhbt16(uint32_t a, uint32_t b) { return (a & 0xffffu) | (b << 16); }
static inline uint32_t tte_pkhtb16(uint32_t b, uint32_t a) { return (b & 0xffff0000u) | (a >> 16); }
static inline int32_t tte_half(int32_t lo, int32_t hi) { return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | ((uint32_t)(uint16_t)(int16_t)hi << 16)); }
static inline int32_t tte_sxtb16(uint32_t a) { return tte_half((int8_t)(a & 0xff), (int8_t)((a >> 16) & 0xff)); }
static inline int32_t tte_sxtb16_ror8(uint32_t a) { return tte_sxtb16((a >> 8) | (a << 24)); }
static inline int32_t tte_lo16(int32_t v) { return (int16_t)((uint32_t)v & 0xffffu); }
static inline int32_t tte_hi16(int32_t v) { return (int16_t)((uint32_t)v >> 16); }
static inline int32_t tte_smlad(int32_t x, int32_t w, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_lo16(w)) + (uint32_t)(tte_hi16(x) * tte_hi16(w)));
}
static inline int32_t tte_smlabb(int32_t x, int32_t w, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_lo16(w))); }
static inline int32_t tte_smlabt(int32_t x, int32_t w, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_hi16(w))); }
#else
#define TTE_PW_DSP 0
#endif
#if TTE_PW_DSP
/* Four consecutive int8 (any alignment: Cortex-M7 and the host allow unaligned word loads). */
static inline uint32_t tte_load4(const int8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
#endif

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
#if TTE_PW_DSP
  uint32_t wpk[TTE_PW_MAXC]; /* (w0[i], w1[i]) as two int16 halves */
#endif
  for (int32_t o = 0; o < cout; o += 2) {
    const int two = o + 1 < cout; /* odd cout: the last channel is computed twice, written once */
    const int32_t o1 = two ? o + 1 : o;
    const int8_t* w0 = pw_weight_row(p, o, wbuf[0]);
    const int8_t* w1 = two ? pw_weight_row(p, o1, wbuf[1]) : w0;
    const int32_t z0 = pw_zero_term(w0, cin, p->x_zero), z1 = pw_zero_term(w1, cin, p->x_zero);
    const float bias0 = bias_of(p, o), eff0 = p->eff[o], bias1 = bias_of(p, o1), eff1 = p->eff[o1];
#if TTE_PW_DSP
    const int packed = cin <= TTE_PW_MAXC;
    if (packed) {
      int32_t i = 0;
      for (; i + 2 <= cin; i += 2) {
        wpk[i] = (uint32_t)(uint16_t)(int16_t)w0[i] | ((uint32_t)(uint16_t)(int16_t)w0[i + 1] << 16);
        wpk[i + 1] = (uint32_t)(uint16_t)(int16_t)w1[i] | ((uint32_t)(uint16_t)(int16_t)w1[i + 1] << 16);
      }
      if (i < cin) wpk[i] = (uint32_t)(uint16_t)(int16_t)w0[i] | ((uint32_t)(uint16_t)(int16_t)w1[i] << 16);
    }
#endif
    for (int32_t r = 0; r < g->rows; ++r) {
      const int8_t* xr = x + g->x0 + (size_t)r * g->x_row;
      const size_t n0 = (size_t)o * g->y_plane + g->y0 + (size_t)r * g->y_row;
      const size_t n1 = n0 + g->y_plane;
      int32_t c = 0;
      for (; c + 4 <= cols; c += 4) {
        int32_t a0 = z0, a1 = z0, a2 = z0, a3 = z0, b0 = z1, b1 = z1, b2 = z1, b3 = z1;
        const int8_t* xi = xr + c;
#if TTE_PW_DSP
        if (packed) {
          const uint32_t *wp = wpk, *we = wpk + (cin & ~1);
          const size_t xp2 = 2 * xp;
          while (wp != we) {
            const uint32_t xa = tte_load4(xi), xb = tte_load4(xi + xp);
            const int32_t u = (int32_t)wp[0], v = (int32_t)wp[1];
            const uint32_t lo = tte_pkhbt16(xa, xb), hi = tte_pkhtb16(xb, xa); /* a0 a1 b0 b1, a2 a3 b2 b3 */
            int32_t t = tte_sxtb16(lo);                                      /* (a0, b0) */
            a0 = tte_smlad(t, u, a0);
            b0 = tte_smlad(t, v, b0);
            t = tte_sxtb16_ror8(lo);
            a1 = tte_smlad(t, u, a1);
            b1 = tte_smlad(t, v, b1);
            t = tte_sxtb16(hi);
            a2 = tte_smlad(t, u, a2);
            b2 = tte_smlad(t, v, b2);
            t = tte_sxtb16_ror8(hi);
            a3 = tte_smlad(t, u, a3);
            b3 = tte_smlad(t, v, b3);
            wp += 2;
            xi += xp2;
          }
          if (cin & 1) {
            const int32_t wv = (int32_t)*wp;
            int32_t t = xi[0];
            a0 = tte_smlabb(t, wv, a0);
            b0 = tte_smlabt(t, wv, b0);
            t = xi[1];
            a1 = tte_smlabb(t, wv, a1);
            b1 = tte_smlabt(t, wv, b1);
            t = xi[2];
            a2 = tte_smlabb(t, wv, a2);
            b2 = tte_smlabt(t, wv, b2);
            t = xi[3];
            a3 = tte_smlabb(t, wv, a3);
            b3 = tte_smlabt(t, wv, b3);
          }
        } else
#endif
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

/* ---- direct kxk convs (dense groups == 1, depthwise, grouped), whole tensors or windows
 *
 * One output channel at a time, its ipg * k * k weights gathered on the stack (up to TTE_DIRECT_MAXW;
 * larger convs take conv_generic; depthwise rows are read in place). Output pixels whose taps all lie inside the input ("interior") are
 * computed four at a time with the zero-point identity (the accumulators start at -zx * sum w); pixels
 * that touch the padding go through the checked loop of conv_generic, where padding contributes 0.
 * Common (k, stride) pairs are compiled with constant k and stride (unrolled taps). */
#define TTE_DIRECT_MAXW 512


typedef struct {
  const int8_t* x;   /* first input channel of the group, in the in_buf layout */
  const int8_t* w;   /* [ipg][k][k] gathered weights */
  int32_t ipg, z;    /* input channels; -x_zero * sum of the weights */
  int8_t* y;         /* output pixel (oy, ox) of the window at y[oy * y_row + ox] */
  size_t y_row;
  uint8_t* mask;     /* NULL, or bit m0 + oy * y_row + ox */
  size_t m0;
  float bias, eff;
} direct_job;

/* Accumulator of output pixel (Y, X) (full-tensor coordinates) over the taps inside the input (padding
 * contributes (x_zero - x_zero) * w = 0), as conv_generic sums them. */
static int32_t direct_checked(const tte_conv_params* p, const direct_job* j, int32_t Y, int32_t X, const int32_t K,
                                     const int32_t S) {
  const int32_t bw = p->in_buf.w, iy0 = Y * S - p->pad, ix0 = X * S - p->pad;
  const int32_t kh0 = iy0 < 0 ? -iy0 : 0, kh1 = iy0 + K > p->in_h ? p->in_h - iy0 : K;
  const int32_t kw0 = ix0 < 0 ? -ix0 : 0, kw1 = ix0 + K > p->in_w ? p->in_w - ix0 : K;
  const size_t plane = (size_t)p->in_buf.h * (size_t)bw;
  int32_t acc = 0;
  for (int32_t ii = 0; ii < j->ipg; ++ii) {
    const int8_t* wr = j->w + (size_t)ii * (size_t)(K * K);
    for (int32_t kh = kh0; kh < kh1; ++kh) {
      const int8_t* xr = j->x + (size_t)ii * plane + (size_t)(iy0 + kh - p->in_buf.y0) * (size_t)bw + (ix0 - p->in_buf.x0);
      for (int32_t kw = kw0; kw < kw1; ++kw) acc += ((int32_t)xr[kw] - p->x_zero) * (int32_t)wr[kh * K + kw];
    }
  }
  return acc;
}

static inline void direct_put(const tte_conv_params* p, const direct_job* j, size_t q, int32_t acc) {
  int in_range;
  j->y[q] = requant(acc, j->bias, j->eff, (float)p->y_zero, &in_range);
  if (j->mask) set_mask(j->mask, j->m0 + q, in_range);
}

/* n output pixels at y index q.. of one row, every tap inside the buffer: xr = the first tap of the first
 * pixel (input channel 0 of the group), next pixels S further; rows bw apart, channels `plane` apart. */
TTE_SPECIALIZE void direct_span(const tte_conv_params* p, const direct_job* j, const int8_t* xr0, size_t bw, size_t plane,
                               int32_t n, size_t q, const int32_t K, const int32_t S) {
  int32_t c = 0;
  for (; c + 4 <= n; c += 4) {
    int32_t a0 = j->z, a1 = j->z, a2 = j->z, a3 = j->z;
    const int8_t* wr = j->w;
    for (int32_t ii = 0; ii < j->ipg; ++ii) {
      const int8_t* xr = xr0 + (size_t)ii * plane + (size_t)(c * S);
      for (int32_t kh = 0; kh < K; ++kh) {
        TTE_UNROLL
        for (int32_t kw = 0; kw < K; ++kw) {
          const int32_t w = wr[kw];
          a0 += xr[kw] * w;
          a1 += xr[kw + S] * w;
          a2 += xr[kw + 2 * S] * w;
          a3 += xr[kw + 3 * S] * w;
        }
        xr += bw;
        wr += K;
      }
    }
    direct_put(p, j, q + (size_t)c, a0);
    direct_put(p, j, q + (size_t)c + 1, a1);
    direct_put(p, j, q + (size_t)c + 2, a2);
    direct_put(p, j, q + (size_t)c + 3, a3);
  }
  for (; c < n; ++c) {
    int32_t a = j->z;
    const int8_t* wr = j->w;
    for (int32_t ii = 0; ii < j->ipg; ++ii) {
      const int8_t* xr = xr0 + (size_t)ii * plane + (size_t)(c * S);
      for (int32_t kh = 0; kh < K; ++kh) {
        TTE_UNROLL
        for (int32_t kw = 0; kw < K; ++kw) a += xr[kw] * wr[kw];
        xr += bw;
        wr += K;
      }
    }
    direct_put(p, j, q + (size_t)c, a);
  }
}

/* The window of one output channel; K, S are p->k, p->stride (constants when inlined from direct_run). */
TTE_SPECIALIZE void direct_channel(const tte_conv_params* p, const direct_job* j, const int32_t K, const int32_t S) {
  const int32_t pad = p->pad, bw = p->in_buf.w;
  const size_t plane = (size_t)p->in_buf.h * (size_t)bw;
  /* interior columns: ix0 >= 0 and ix0 + K <= in_w, i.e. X in [x_lo, x_hi) */
  const int32_t x_lo = (pad + S - 1) / S, x_hi = p->in_w - K + pad >= 0 ? (p->in_w - K + pad) / S + 1 : 0;
  int32_t c_lo = x_lo - p->out.x0, c_hi = x_hi - p->out.x0;
  if (c_lo < 0) c_lo = 0;
  if (c_lo > p->out.w) c_lo = p->out.w;
  if (c_hi > p->out.w) c_hi = p->out.w;
  if (c_hi < c_lo) c_hi = c_lo;
  for (int32_t oy = 0; oy < p->out.h; ++oy) {
    const int32_t Y = p->out.y0 + oy, iy0 = Y * S - pad;
    const size_t q0 = (size_t)oy * j->y_row;
    const int row_in = iy0 >= 0 && iy0 + K <= p->in_h;
    const int32_t lo = row_in ? c_lo : p->out.w, hi = row_in ? c_hi : p->out.w;
    for (int32_t ox = 0; ox < lo; ++ox) direct_put(p, j, q0 + (size_t)ox, direct_checked(p, j, Y, p->out.x0 + ox, K, S));
    if (hi > lo)
      direct_span(p, j, j->x + (size_t)(iy0 - p->in_buf.y0) * (size_t)bw + ((p->out.x0 + lo) * S - pad - p->in_buf.x0),
                  (size_t)bw, plane, hi - lo, q0 + (size_t)lo, K, S);
    for (int32_t ox = hi; ox < p->out.w; ++ox) direct_put(p, j, q0 + (size_t)ox, direct_checked(p, j, Y, p->out.x0 + ox, K, S));
  }
}

/* Depthwise (one input channel): the input the window reads is copied into pb (ph x pw) with the padding
 * filled with x_zero, which contributes (x_zero - x_zero) * w = 0 exactly as a skipped tap; then every
 * pixel takes direct_span. */
TTE_SPECIALIZE void direct_channel_padded(const tte_conv_params* p, const direct_job* j, int8_t* pb, int32_t ph,
                                         int32_t pw, const int32_t K, const int32_t S) {
  const int32_t iy0 = p->out.y0 * S - p->pad, ix0 = p->out.x0 * S - p->pad, bw = p->in_buf.w;
  int32_t c_lo = -ix0, c_hi = p->in_w - ix0; /* columns of pb inside the input */
  if (c_lo < 0) c_lo = 0;
  if (c_hi > pw) c_hi = pw;
  if (c_hi < c_lo) c_hi = c_lo;
  for (int32_t r = 0; r < ph; ++r) {
    int8_t* d = pb + (size_t)r * (size_t)pw;
    const int32_t iy = iy0 + r;
    if (iy < 0 || iy >= p->in_h) {
      memset(d, p->x_zero, (size_t)pw);
      continue;
    }
    memset(d, p->x_zero, (size_t)c_lo);
    memcpy(d + c_lo, j->x + (size_t)(iy - p->in_buf.y0) * (size_t)bw + (ix0 + c_lo - p->in_buf.x0), (size_t)(c_hi - c_lo));
    memset(d + c_hi, p->x_zero, (size_t)(pw - c_hi));
  }
  for (int32_t oy = 0; oy < p->out.h; ++oy)
    direct_span(p, j, pb + (size_t)(oy * S) * (size_t)pw, (size_t)pw, 0, p->out.w, (size_t)oy * j->y_row, K, S);
}

#define TTE_DW_PADMAX 1536

TTE_SPECIALIZE void direct_dispatch(const tte_conv_params* p, const direct_job* j, const int32_t K, const int32_t S) {
  const int32_t ph = (p->out.h - 1) * S + K, pw = (p->out.w - 1) * S + K;
  const int32_t iy0 = p->out.y0 * S - p->pad, ix0 = p->out.x0 * S - p->pad;
  const int border = iy0 < 0 || ix0 < 0 || iy0 + ph > p->in_h || ix0 + pw > p->in_w;
  if (border && j->ipg == 1 && ph * pw <= TTE_DW_PADMAX) {
    int8_t pb[TTE_DW_PADMAX];
    direct_channel_padded(p, j, pb, ph, pw, K, S);
  } else {
    direct_channel(p, j, K, S);
  }
}

TTE_HOT static void direct_run(const tte_conv_params* p, const direct_job* j) {
  const int32_t k = p->k, s = p->stride;
  if (p->out.h <= 0 || p->out.w <= 0) return;
  if (k == 3 && s == 1) direct_dispatch(p, j, 3, 1);
  else if (k == 3 && s == 2) direct_dispatch(p, j, 3, 2);
  else if (k == 5 && s == 1) direct_dispatch(p, j, 5, 1);
  else if (k == 5 && s == 2) direct_dispatch(p, j, 5, 2);
  else if (k == 7 && s == 1) direct_dispatch(p, j, 7, 1);
  else if (k == 7 && s == 2) direct_dispatch(p, j, 7, 2);
  else direct_dispatch(p, j, k, s);
}

/* Fills the job of output channel o (weights gathered into wbuf unless depthwise, bias, scale); x = the
 * input buffer. */
static void direct_job_init(const tte_conv_params* p, int32_t o, const int8_t* x, int8_t* wbuf, direct_job* j) {
  const int32_t kk = p->k * p->k, ipg = p->cin / p->groups, opg = p->cout / p->groups, g = o / opg;
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  int32_t sum = 0;
  if (depthwise) {
    j->w = tte_weight_row(&p->w, o, 0, o, kk, 1, 1);
    for (int32_t t = 0; t < kk; ++t) sum += j->w[t];
  } else {
    for (int32_t ii = 0; ii < ipg; ++ii) {
      const int8_t* wr = tte_weight_row(&p->w, o, ii, g * ipg + ii, kk, 0, ipg);
      for (int32_t t = 0; t < kk; ++t) {
        wbuf[ii * kk + t] = wr[t];
        sum += wr[t];
      }
    }
    j->w = wbuf;
  }
  j->x = x + (size_t)(g * ipg) * (size_t)p->in_buf.h * (size_t)p->in_buf.w;
  j->ipg = ipg;
  j->z = -p->x_zero * sum;
  j->bias = bias_of(p, o);
  j->eff = p->eff[o];
}

/* The direct fast path for p's windows, or 0 if it does not apply (weights too many for the stack). */
static int conv_direct(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  int8_t wbuf[TTE_DIRECT_MAXW];
  const size_t y_plane = (size_t)p->out_buf.h * (size_t)p->out_buf.w;
  const size_t y_off = (size_t)(p->out.y0 - p->out_buf.y0) * (size_t)p->out_buf.w + (size_t)(p->out.x0 - p->out_buf.x0);
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  if (!depthwise && (p->cin / p->groups) * p->k * p->k > TTE_DIRECT_MAXW) return 0;
  for (int32_t o = 0; o < p->cout; ++o) {
    direct_job j;
    direct_job_init(p, o, x, wbuf, &j);
    j.y = y + (size_t)o * y_plane + y_off;
    j.y_row = (size_t)p->out_buf.w;
    j.mask = mask;
    j.m0 = (size_t)o * y_plane + y_off;
    direct_run(p, &j);
  }
  return 1;
}

void tte_conv_dw_inplace_s8(const tte_conv_params* p, int8_t* buf, int8_t* scratch, uint8_t* mask) {
  const size_t out_plane = (size_t)p->out.h * (size_t)p->out.w;
  int8_t wbuf[1]; /* depthwise: the weight rows are used in place */
  for (int32_t c = 0; c < p->cout; ++c) {
    direct_job j;
    direct_job_init(p, c, buf, wbuf, &j);
    j.y = scratch;
    j.y_row = (size_t)p->out.w;
    j.mask = mask;
    j.m0 = (size_t)c * out_plane;
    direct_run(p, &j);
    memcpy(buf + (size_t)c * out_plane, scratch, out_plane);
  }
}

void tte_conv_s8(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  if (!conv_pointwise(p, x, y, mask) && !conv_direct(p, x, y, mask)) conv_generic(p, x, y, mask);
}
