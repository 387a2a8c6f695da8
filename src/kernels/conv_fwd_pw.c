/*
 * conv_fwd_pw.c - the pointwise fast path of the int8 conv forward (1x1 kernel, stride 1, no padding,
 * groups 1, not depthwise; whole tensors or patch windows), register-blocked, with a Cortex-M DSP variant.
 * conv_fwd.c dispatches to it; it equals conv_generic (the specification) bit for bit in both requant
 * modes: the int32 accumulators are exact whatever the order, and the requantization is the shared
 * tte_rq of conv_internal.h, instantiated once per mode (no per-pixel branch on the mode).
 *
 * Pixel c of row r reads x[i * x_plane + x0 + r * x_row + c] and writes y[o * y_plane + y0 + r * y_row + c]
 * (mask bit at the same index). Two output channels times four pixels of int32 accumulators stay in
 * registers over the cin loop. The zero point uses sum_i (x - zx) * w = sum_i x * w - zx * sum_i w (exact
 * in int32): the accumulators start at -zx * sum_i w. Weight rows are read in place (slot == NULL) or
 * gathered on the stack (split weights, up to TTE_PW_MAXC input channels; wider split convs take
 * conv_generic).
 */
#include <string.h>

#include "kernels/conv_internal.h"

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

TTE_SPECIALIZE void put_out(int8_t* y, uint8_t* mask, size_t n, int32_t acc, const tte_rq* r, const int MODE) {
  int in_range;
  y[n] = tte_rq_apply(MODE, acc, r, &in_range);
  if (mask) tte_set_mask(mask, n, in_range);
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

TTE_SPECIALIZE void pw_run(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y, uint8_t* mask,
                           const int MODE) {
  const int32_t cin = p->cin, cout = p->cout, cols = g->cols;
  const size_t xp = g->x_plane;
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
    tte_rq r0, r1;
    tte_rq_init(p, o, &r0);
    tte_rq_init(p, o1, &r1);
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
        put_out(y, mask, n0 + (size_t)c, a0, &r0, MODE);
        put_out(y, mask, n0 + (size_t)c + 1, a1, &r0, MODE);
        put_out(y, mask, n0 + (size_t)c + 2, a2, &r0, MODE);
        put_out(y, mask, n0 + (size_t)c + 3, a3, &r0, MODE);
        if (two) {
          put_out(y, mask, n1 + (size_t)c, b0, &r1, MODE);
          put_out(y, mask, n1 + (size_t)c + 1, b1, &r1, MODE);
          put_out(y, mask, n1 + (size_t)c + 2, b2, &r1, MODE);
          put_out(y, mask, n1 + (size_t)c + 3, b3, &r1, MODE);
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
        put_out(y, mask, n0 + (size_t)c, a, &r0, MODE);
        if (two) put_out(y, mask, n1 + (size_t)c, b, &r1, MODE);
      }
    }
  }
}

TTE_HOT static void pw_run_fp32(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y,
                                uint8_t* mask) {
  pw_run(p, g, x, y, mask, TTE_REQUANT_FP32);
}

TTE_HOT static void pw_run_tflite(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y,
                                  uint8_t* mask) {
  pw_run(p, g, x, y, mask, TTE_REQUANT_TFLITE);
}

int tte_internal_conv_pointwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  pw_geom g;
  if (p->kh != 1 || p->kw != 1 || p->sh != 1 || p->sw != 1 || p->groups != 1 || p->depthwise) return 0;
  if (p->pad_t != 0 || p->pad_b != 0 || p->pad_l != 0 || p->pad_r != 0) return 0;
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
  if (g.rows > 0 && g.cols > 0) {
    if (p->requant == TTE_REQUANT_TFLITE)
      pw_run_tflite(p, &g, x, y, mask);
    else
      pw_run_fp32(p, &g, x, y, mask);
  }
  return 1;
}
