/*
 * conv_fwd.c - int8 convolution forward of any geometry (rectangular kernels, per-axis stride and
 * dilation, asymmetric padding, groups, depthwise with a channel multiplier), with the requantization of
 * the reference's fp32 simulation or of TFLite's integer kernels, an activation range and an optional
 * 1-bit clamp mask.
 *
 * tte_conv_s8 dispatches to loops that compute the same thing:
 *   - conv_generic:   any geometry / groups / window (the specification, and the fallback);
 *   - pointwise:      1x1, stride 1, no padding, groups 1 (conv_fwd_pw.c, register-blocked, Cortex-M DSP);
 *   - conv_direct:    every other conv whose gathered weights fit the stack (dense, depthwise, grouped),
 *                     whole tensors or windows: interior pixels four at a time without bounds checks,
 *                     border pixels through the checked loop (depthwise: over a zero-padded copy);
 *                     also tte_conv_dw_inplace_s8.
 * Integer accumulation is exact, so the loop order, register blocking and the zero-point identity
 * sum (x - zx) * w = sum x * w - zx * sum w do not change results; the requantization is the shared
 * tte_rq of conv_internal.h for every path. tests/kernels/portable_paths_test.cc compares every fast
 * path with the generic loop (on the host; the Cortex-M DSP variant of the pointwise loop through a C
 * emulation of its instructions, and by the QEMU parity tests).
 */
#include <string.h>

#include "kernels/conv_internal.h"

int32_t tte_window_out_size(int32_t in, int32_t k, int32_t stride, int32_t dilation, int32_t pad_before,
                            int32_t pad_after) {
  const int32_t span = in + pad_before + pad_after - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
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
  p->out.h = tte_window_out_size(in_h, p->kh, p->sh, p->dh, p->pad_t, p->pad_b);
  p->out.w = tte_window_out_size(in_w, p->kw, p->sw, p->dw, p->pad_l, p->pad_r);
  p->out_buf = p->out;
}

/* The specification: one output at a time, taps in (input channel, kh, kw) order, skipped outside the input. */
TTE_HOT static void conv_generic(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int32_t kk = p->kh * p->kw, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int32_t bh = p->in_buf.h, bw = p->in_buf.w;
  for (int32_t o = 0; o < p->cout; ++o) {
    const int32_t g = o / opg; /* depthwise: groups == cin, so g = o / multiplier is the input channel */
    tte_rq rq;
    tte_rq_init(p, o, &rq);
    for (int32_t oy = 0; oy < p->out.h; ++oy) {
      const int32_t iy0 = (p->out.y0 + oy) * p->sh - p->pad_t;
      for (int32_t ox = 0; ox < p->out.w; ++ox) {
        const int32_t ix0 = (p->out.x0 + ox) * p->sw - p->pad_l;
        int32_t acc = 0;
        for (int32_t ii = 0; ii < ipg; ++ii) {
          const int32_t i = g * ipg + ii;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, p->depthwise, ipg);
          const int8_t* xc = x + (size_t)i * (size_t)bh * (size_t)bw;
          for (int32_t kh = 0; kh < p->kh; ++kh) {
            const int32_t iy = iy0 + kh * p->dh;
            if (iy < 0 || iy >= p->in_h) continue; /* padding: (x_zero - x_zero) * w = 0 */
            const int8_t* xr = xc + (size_t)(iy - p->in_buf.y0) * (size_t)bw;
            for (int32_t kw = 0; kw < p->kw; ++kw) {
              const int32_t ix = ix0 + kw * p->dw;
              if (ix < 0 || ix >= p->in_w) continue;
              acc += ((int32_t)xr[ix - p->in_buf.x0] - p->x_zero) * (int32_t)wr[kh * p->kw + kw];
            }
          }
        }
        int in_range;
        const size_t n = ((size_t)o * (size_t)p->out_buf.h + (size_t)(p->out.y0 + oy - p->out_buf.y0)) * (size_t)p->out_buf.w +
                         (size_t)(p->out.x0 + ox - p->out_buf.x0);
        y[n] = p->requant == TTE_REQUANT_TFLITE ? tte_rq_tflite(acc, &rq, &in_range) : tte_rq_fp32(acc, &rq, &in_range);
        if (mask) tte_set_mask(mask, n, in_range);
      }
    }
  }
}

/* ---- direct convs (dense groups == 1, depthwise, grouped), whole tensors or windows
 *
 * One output channel at a time, its ipg * kh * kw weights gathered on the stack (up to TTE_DIRECT_MAXW;
 * larger convs take conv_generic; depthwise rows are read in place). Output pixels whose taps all lie inside
 * the input ("interior") are computed four at a time with the zero-point identity (the accumulators start at
 * -zx * sum w); pixels that touch the padding go through the checked loop, where padding contributes 0.
 * The common square (k, stride) pairs without dilation are compiled with constant geometry (unrolled taps),
 * once per requant mode; every other geometry takes the same bodies with run-time values. */
#define TTE_DIRECT_MAXW 512

typedef struct {
  const int8_t* x; /* first input channel of the group, in the in_buf layout */
  const int8_t* w; /* [ipg][kh][kw] gathered weights */
  int32_t ipg, z;  /* input channels; -x_zero * sum of the weights */
  int8_t* y;       /* output pixel (oy, ox) of the window at y[oy * y_row + ox] */
  size_t y_row;
  uint8_t* mask;   /* NULL, or bit m0 + oy * y_row + ox */
  size_t m0;
  tte_rq rq;
  int fast;        /* DSP builds: FP32, full range, finite bias and eff (tte_rq_fp32_fast) */
} direct_job;

/* The geometry and requant mode of a direct call, compile-time constants in the specialized instantiations
 * (passed as separate arguments: GCC keeps them constants through the always-inlined bodies). */
#define TTE_GEO_PARAMS \
  const int32_t KH, const int32_t KW, const int32_t SH, const int32_t SW, const int32_t DH, const int32_t DW, const int MODE
#define TTE_GEO KH, KW, SH, SW, DH, DW, MODE

/* Accumulator of output pixel (Y, X) (full-tensor coordinates) over the taps inside the input (padding
 * contributes (x_zero - x_zero) * w = 0), as conv_generic sums them. */
static int32_t direct_checked(const tte_conv_params* p, const direct_job* j, int32_t Y, int32_t X, int32_t KH,
                              int32_t KW, int32_t SH, int32_t SW, int32_t DH, int32_t DW) {
  const int32_t bw = p->in_buf.w, iy0 = Y * SH - p->pad_t, ix0 = X * SW - p->pad_l;
  /* taps inside the input: kh in [kh0, kh1), kw in [kw0, kw1) */
  const int32_t kh0 = iy0 < 0 ? (-iy0 + DH - 1) / DH : 0, kw0 = ix0 < 0 ? (-ix0 + DW - 1) / DW : 0;
  int32_t kh1 = p->in_h - iy0 > 0 ? (p->in_h - iy0 + DH - 1) / DH : 0, kw1 = p->in_w - ix0 > 0 ? (p->in_w - ix0 + DW - 1) / DW : 0;
  const size_t plane = (size_t)p->in_buf.h * (size_t)bw;
  int32_t acc = 0;
  if (kh1 > KH) kh1 = KH;
  if (kw1 > KW) kw1 = KW;
  for (int32_t ii = 0; ii < j->ipg; ++ii) {
    const int8_t* wr = j->w + (size_t)ii * (size_t)(KH * KW);
    for (int32_t kh = kh0; kh < kh1; ++kh) {
      const int8_t* xr =
          j->x + (size_t)ii * plane + (size_t)(iy0 + kh * DH - p->in_buf.y0) * (size_t)bw + (ix0 - p->in_buf.x0);
      for (int32_t kw = kw0; kw < kw1; ++kw) acc += ((int32_t)xr[kw * DW] - p->x_zero) * (int32_t)wr[kh * KW + kw];
    }
  }
  return acc;
}

static inline void direct_put_fp32(const direct_job* j, size_t q, int32_t acc) {
  int in_range;
#if TTE_PW_DSP
  j->y[q] = j->fast ? tte_rq_fp32_fast(acc, &j->rq, &in_range) : tte_rq_fp32(acc, &j->rq, &in_range);
#else
  j->y[q] = tte_rq_fp32(acc, &j->rq, &in_range);
#endif
  if (j->mask) tte_set_mask(j->mask, j->m0 + q, in_range);
}

static inline void direct_put_tflite(const direct_job* j, size_t q, int32_t acc) {
  int in_range;
  j->y[q] = tte_rq_tflite(acc, &j->rq, &in_range);
  if (j->mask) tte_set_mask(j->mask, j->m0 + q, in_range);
}

/* MODE is a constant wherever this is inlined: no branch on it. */
TTE_SPECIALIZE void direct_put(const direct_job* j, size_t q, int32_t acc, const int MODE) {
  if (MODE == TTE_REQUANT_TFLITE)
    direct_put_tflite(j, q, acc);
  else
    direct_put_fp32(j, q, acc);
}

/* The border pixels of direct_channel (few): out of line, to keep the instantiations small. */
TTE_OUTLINE static void direct_put_border(const direct_job* j, size_t q, int32_t acc, int mode) {
  if (mode == TTE_REQUANT_TFLITE)
    direct_put_tflite(j, q, acc);
  else
    direct_put_fp32(j, q, acc);
}

/* n output pixels at y index q.. of one row, every tap inside the buffer: xr0 = the first tap of the first
 * pixel (input channel 0 of the group), next pixels SW further; rows bw apart, channels `plane` apart. */
TTE_SPECIALIZE void direct_span(const direct_job* jp, const int8_t* xr0, size_t bw, size_t plane, int32_t n,
                                size_t q, TTE_GEO_PARAMS) {
  const direct_job jl = *jp, *j = &jl; /* a local copy: stores through y cannot alias it (no reloads) */
  (void)SH; /* rows are a step of the caller */
  const size_t row_step = (size_t)DH * bw;
  int32_t c = 0;
#if TTE_PW_DSP
  if (KH == 3 && KW == 3 && SW == 1 && DW == 1 && j->ipg == 1) {
    /* Depthwise 3x3 stride 1 with SMLAD: per kernel row, the words x[c..c+3] and x[c+2..c+5] give the int16
     * pairs (x0, x2), (x1, x3), (x2, x4), (x3, x5) (SXTB16, SXTB16 ROR 8); pixel d takes (x_d, x_d+2) . (w0, w2)
     * by SMLAD and x_d+1 * w1 by SMLABB / SMLABT: the same exact integer products, in another order. */
    int32_t wp[6];
    for (int32_t kh = 0; kh < 3; ++kh) {
      wp[2 * kh] = (int32_t)((uint32_t)(uint16_t)(int16_t)j->w[kh * 3] | ((uint32_t)(uint16_t)(int16_t)j->w[kh * 3 + 2] << 16));
      wp[2 * kh + 1] = j->w[kh * 3 + 1];
    }
    for (; c + 4 <= n; c += 4) {
      int32_t a0 = j->z, a1 = j->z, a2 = j->z, a3 = j->z;
      const int8_t* xr = xr0 + (size_t)c;
      TTE_UNROLL
      for (int32_t kh = 0; kh < 3; ++kh) {
        const uint32_t A = tte_load4(xr), B = tte_load4(xr + 2);
        const int32_t sA = tte_sxtb16(A), rA = tte_sxtb16_ror8(A), sB = tte_sxtb16(B), rB = tte_sxtb16_ror8(B);
        const int32_t w02 = wp[2 * kh], w1 = wp[2 * kh + 1];
        a0 = tte_smlad(sA, w02, a0);
        a0 = tte_smlabb(rA, w1, a0);
        a1 = tte_smlad(rA, w02, a1);
        a1 = tte_smlabt(w1, sA, a1);
        a2 = tte_smlad(sB, w02, a2);
        a2 = tte_smlabb(rB, w1, a2);
        a3 = tte_smlad(rB, w02, a3);
        a3 = tte_smlabt(w1, sB, a3);
        xr += row_step;
      }
      direct_put(j, q + (size_t)c, a0, MODE);
      direct_put(j, q + (size_t)c + 1, a1, MODE);
      direct_put(j, q + (size_t)c + 2, a2, MODE);
      direct_put(j, q + (size_t)c + 3, a3, MODE);
    }
  }
#endif
  for (; c + 4 <= n; c += 4) {
    int32_t a0 = j->z, a1 = j->z, a2 = j->z, a3 = j->z;
    const int8_t* wr = j->w;
    for (int32_t ii = 0; ii < j->ipg; ++ii) {
      const int8_t* xr = xr0 + (size_t)ii * plane + (size_t)(c * SW);
      for (int32_t kh = 0; kh < KH; ++kh) {
        TTE_UNROLL
        for (int32_t kw = 0; kw < KW; ++kw) {
          const int32_t w = wr[kw];
          const int8_t* xt = xr + kw * DW;
          a0 += xt[0] * w;
          a1 += xt[SW] * w;
          a2 += xt[2 * SW] * w;
          a3 += xt[3 * SW] * w;
        }
        xr += row_step;
        wr += KW;
      }
    }
    direct_put(j, q + (size_t)c, a0, MODE);
    direct_put(j, q + (size_t)c + 1, a1, MODE);
    direct_put(j, q + (size_t)c + 2, a2, MODE);
    direct_put(j, q + (size_t)c + 3, a3, MODE);
  }
  for (; c < n; ++c) {
    int32_t a = j->z;
    const int8_t* wr = j->w;
    for (int32_t ii = 0; ii < j->ipg; ++ii) {
      const int8_t* xr = xr0 + (size_t)ii * plane + (size_t)(c * SW);
      for (int32_t kh = 0; kh < KH; ++kh) {
        TTE_UNROLL
        for (int32_t kw = 0; kw < KW; ++kw) a += xr[kw * DW] * wr[kw];
        xr += row_step;
        wr += KW;
      }
    }
    direct_put(j, q + (size_t)c, a, MODE);
  }
}

/* The window of one output channel. */
TTE_SPECIALIZE void direct_channel(const tte_conv_params* p, const direct_job* j, TTE_GEO_PARAMS) {
  const int32_t bw = p->in_buf.w, ext_h = (KH - 1) * DH + 1, ext_w = (KW - 1) * DW + 1;
  const size_t plane = (size_t)p->in_buf.h * (size_t)bw;
  /* interior columns: ix0 >= 0 and ix0 + ext_w <= in_w, i.e. X in [x_lo, x_hi) */
  const int32_t x_lo = (p->pad_l + SW - 1) / SW;
  const int32_t x_hi = p->in_w - ext_w + p->pad_l >= 0 ? (p->in_w - ext_w + p->pad_l) / SW + 1 : 0;
  int32_t c_lo = x_lo - p->out.x0, c_hi = x_hi - p->out.x0;
  if (c_lo < 0) c_lo = 0;
  if (c_lo > p->out.w) c_lo = p->out.w;
  if (c_hi > p->out.w) c_hi = p->out.w;
  if (c_hi < c_lo) c_hi = c_lo;
  for (int32_t oy = 0; oy < p->out.h; ++oy) {
    const int32_t Y = p->out.y0 + oy, iy0 = Y * SH - p->pad_t;
    const size_t q0 = (size_t)oy * j->y_row;
    const int row_in = iy0 >= 0 && iy0 + ext_h <= p->in_h;
    const int32_t lo = row_in ? c_lo : p->out.w, hi = row_in ? c_hi : p->out.w;
    for (int32_t ox = 0; ox < lo; ++ox)
      direct_put_border(j, q0 + (size_t)ox, direct_checked(p, j, Y, p->out.x0 + ox, KH, KW, SH, SW, DH, DW), MODE);
    if (hi > lo)
      direct_span(j, j->x + (size_t)(iy0 - p->in_buf.y0) * (size_t)bw + ((p->out.x0 + lo) * SW - p->pad_l - p->in_buf.x0),
                  (size_t)bw, plane, hi - lo, q0 + (size_t)lo, TTE_GEO);
    for (int32_t ox = hi; ox < p->out.w; ++ox)
      direct_put_border(j, q0 + (size_t)ox, direct_checked(p, j, Y, p->out.x0 + ox, KH, KW, SH, SW, DH, DW), MODE);
  }
}

/* Depthwise (one input channel): the input the window reads is copied into pb (ph x pw) with the padding
 * filled with x_zero, which contributes (x_zero - x_zero) * w = 0 exactly as a skipped tap; then every
 * pixel takes direct_span. */
TTE_SPECIALIZE void direct_channel_padded(const tte_conv_params* p, const direct_job* j, int8_t* pb, int32_t ph,
                                          int32_t pw, TTE_GEO_PARAMS) {
  const int32_t iy0 = p->out.y0 * SH - p->pad_t, ix0 = p->out.x0 * SW - p->pad_l, bw = p->in_buf.w;
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
    direct_span(j, pb + (size_t)(oy * SH) * (size_t)pw, (size_t)pw, 0, p->out.w, (size_t)oy * j->y_row, TTE_GEO);
}

#define TTE_DW_PADMAX 1536

TTE_SPECIALIZE void direct_dispatch(const tte_conv_params* p, const direct_job* j, TTE_GEO_PARAMS) {
  const int32_t ph = (p->out.h - 1) * SH + (KH - 1) * DH + 1, pw = (p->out.w - 1) * SW + (KW - 1) * DW + 1;
  const int32_t iy0 = p->out.y0 * SH - p->pad_t, ix0 = p->out.x0 * SW - p->pad_l;
  const int border = iy0 < 0 || ix0 < 0 || iy0 + ph > p->in_h || ix0 + pw > p->in_w;
  if (border && j->ipg == 1 && ph * pw <= TTE_DW_PADMAX) {
    int8_t pb[TTE_DW_PADMAX];
    direct_channel_padded(p, j, pb, ph, pw, TTE_GEO);
  } else {
    direct_channel(p, j, TTE_GEO);
  }
}

/* One function per instantiation (compiled on its own: one huge function holding every instantiation
 * optimizes worse): the common square geometries (k, stride, no dilation) with constants, per mode, and the
 * run-time geometry of each mode. */
#define TTE_DIRECT_FN(NAME, K, S, M) \
  TTE_HOT static void NAME(const tte_conv_params* p, const direct_job* j) { direct_dispatch(p, j, K, K, S, S, 1, 1, M); }
TTE_DIRECT_FN(direct_k3s1_fp32, 3, 1, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k3s2_fp32, 3, 2, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k5s1_fp32, 5, 1, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k5s2_fp32, 5, 2, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k7s1_fp32, 7, 1, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k7s2_fp32, 7, 2, TTE_REQUANT_FP32)
TTE_DIRECT_FN(direct_k3s1_tflite, 3, 1, TTE_REQUANT_TFLITE)
TTE_DIRECT_FN(direct_k3s2_tflite, 3, 2, TTE_REQUANT_TFLITE)

TTE_HOT static void direct_any_fp32(const tte_conv_params* p, const direct_job* j) {
  direct_dispatch(p, j, p->kh, p->kw, p->sh, p->sw, p->dh, p->dw, TTE_REQUANT_FP32);
}

TTE_HOT static void direct_any_tflite(const tte_conv_params* p, const direct_job* j) {
  direct_dispatch(p, j, p->kh, p->kw, p->sh, p->sw, p->dh, p->dw, TTE_REQUANT_TFLITE);
}

static void direct_run(const tte_conv_params* p, const direct_job* j) {
  const int square = p->kh == p->kw && p->sh == p->sw && p->dh == 1 && p->dw == 1;
  const int32_t k = p->kh, s = p->sh;
  if (p->out.h <= 0 || p->out.w <= 0) return;
  if (p->requant == TTE_REQUANT_TFLITE) {
    if (square && k == 3 && s == 1) direct_k3s1_tflite(p, j);
    else if (square && k == 3 && s == 2) direct_k3s2_tflite(p, j);
    else direct_any_tflite(p, j);
    return;
  }
  if (square && k == 3 && s == 1) direct_k3s1_fp32(p, j);
  else if (square && k == 3 && s == 2) direct_k3s2_fp32(p, j);
  else if (square && k == 5 && s == 1) direct_k5s1_fp32(p, j);
  else if (square && k == 5 && s == 2) direct_k5s2_fp32(p, j);
  else if (square && k == 7 && s == 1) direct_k7s1_fp32(p, j);
  else if (square && k == 7 && s == 2) direct_k7s2_fp32(p, j);
  else direct_any_fp32(p, j);
}

/* Fills the job of output channel o (weights gathered into wbuf unless depthwise, requant constants);
 * x = the input buffer. */
static void direct_job_init(const tte_conv_params* p, int32_t o, const int8_t* x, int8_t* wbuf, direct_job* j) {
  const int32_t kk = p->kh * p->kw, ipg = p->cin / p->groups, opg = p->cout / p->groups, g = o / opg;
  int32_t sum = 0;
  if (p->depthwise) {
    j->w = tte_weight_row(&p->w, o, 0, g, kk, 1, 1);
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
  tte_rq_init(p, o, &j->rq);
#if TTE_PW_DSP
  j->fast = p->requant == TTE_REQUANT_FP32 && tte_rq_fast_ok(&j->rq);
#else
  j->fast = 0;
#endif
}

/* The direct fast path for p's windows, or 0 if it does not apply (weights too many for the stack). */
static int conv_direct(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  int8_t wbuf[TTE_DIRECT_MAXW];
  const size_t y_plane = (size_t)p->out_buf.h * (size_t)p->out_buf.w;
  const size_t y_off = (size_t)(p->out.y0 - p->out_buf.y0) * (size_t)p->out_buf.w + (size_t)(p->out.x0 - p->out_buf.x0);
  if (!p->depthwise && (p->cin / p->groups) * p->kh * p->kw > TTE_DIRECT_MAXW) return 0;
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
  if (!tte_internal_conv_pointwise(p, x, y, mask) && !conv_direct(p, x, y, mask)) conv_generic(p, x, y, mask);
}
