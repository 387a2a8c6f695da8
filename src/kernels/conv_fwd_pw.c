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
 *
 * On cores with the DSP extension, FP32-requantized convs (the .pkl models) take a second loop instead
 * (pw_run_dsp below: the block's input expanded once to int16 pairs and read by every output channel, SMLAD,
 * and a shorter exact requantization), near one instruction per MAC in its inner loop.
 */
#include <string.h>

#include "kernels/conv_internal.h"

#define TTE_PW_MAXC 512

/* The register-blocked loop on the Cortex-M DSP extension (ARMv7E-M; TFLITE requantization, and what
 * pw_run_dsp does not take): input channels are taken in pairs (i, i + 1). The weights of the two
 * output channels are packed per pair as int16 halves, (w0[i], w0[i+1]) and (w1[i], w1[i+1]); four pixels
 * of channels i and i + 1 (two word loads) are rearranged into the four int16 pairs (x_i[c], x_i+1[c])
 * with PKHBT / PKHTB and SXTB16, and each pair is accumulated by SMLAD (x_i * w_i + x_i+1 * w_i+1 + acc:
 * the same exact integer products and sums as the portable loop, in another order). An odd last channel
 * takes SMLABB / SMLABT. Other targets use the portable loop. TTE_PW_DSP_EMULATE (tests only) compiles
 * the same loops with C versions of the instructions (conv_internal.h), so that the host tests check them. */

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

#if TTE_PW_DSP
/* ---- The Cortex-M DSP path of the FP32 requantization (the .pkl models' arithmetic)
 *
 * Blocks of four pixels of one row: the block's input is expanded ONCE into xe (int16 pairs, the zero point
 * already subtracted: x - zx lies in [-255, 255]), then every output channel reads it: per group of four input
 * channels i..i+3, one word of weights (w_i, w_i+1, w_i+2, w_i+3) gives the pairs (w_i, w_i+2) and
 * (w_i+1, w_i+3) by SXTB16 and SXTB16 ROR 8, and eight SMLAD add them against the pairs (x_i, x_i+2) and
 * (x_i+1, x_i+3) of the four pixels. Integer sums are exact, so the accumulators equal the portable loop's.
 * xe layout per channel group: words 0..3 = (x_i - zx, x_i+2 - zx) of pixels 0..3, words 4..7 = (x_i+1 - zx,
 * x_i+3 - zx); channels past cin and pixels past the block's end are 0 (they add 0 * w).
 * The requantization is tte_rq_fp32's in fewer instructions (pw_rq); split weights (slot tables) are gathered
 * TTE_PW_WROWS bytes of rows at a time (the input blocks are expanded once per such chunk). Inner loop on the
 * Cortex-M7: 15 instructions per 16 MACs (LDR, 2 SXTB16, 4 LDRD, 8 SMLAD); per output 9 more (VMOV, VCVT,
 * VADD, VMUL, VCVTR, VMOV, QADD, SSAT, STRB) and a share of the per-channel loop. */
#define TTE_PW_XCH 576   /* input channels of the expanded block (MCUNet's widest; 4.5 KB of stack, 8 B each) */
#define TTE_PW_WROWS 768 /* bytes of gathered weight rows (split weights) */

static void pw_expand(const int8_t* xi, size_t xp, int32_t cin, int32_t n, int32_t zx, uint64_t* xe) {
  const uint32_t zz = (uint32_t)(uint16_t)(int16_t)zx * 0x10001u;
  int32_t i = 0;
  if (n == 4) {
    for (; i + 4 <= cin; i += 4) {
      const uint32_t xa = tte_load4(xi), xb = tte_load4(xi + xp), xc = tte_load4(xi + 2 * xp), xd = tte_load4(xi + 3 * xp);
      uint32_t lo = tte_pkhbt16(xa, xc), hi = tte_pkhtb16(xc, xa); /* a0 a1 c0 c1, a2 a3 c2 c3 */
      xe[0] = tte_ssub16((uint32_t)tte_sxtb16(lo), zz) | (uint64_t)tte_ssub16((uint32_t)tte_sxtb16_ror8(lo), zz) << 32;
      xe[1] = tte_ssub16((uint32_t)tte_sxtb16(hi), zz) | (uint64_t)tte_ssub16((uint32_t)tte_sxtb16_ror8(hi), zz) << 32;
      lo = tte_pkhbt16(xb, xd);
      hi = tte_pkhtb16(xd, xb);
      xe[2] = tte_ssub16((uint32_t)tte_sxtb16(lo), zz) | (uint64_t)tte_ssub16((uint32_t)tte_sxtb16_ror8(lo), zz) << 32;
      xe[3] = tte_ssub16((uint32_t)tte_sxtb16(hi), zz) | (uint64_t)tte_ssub16((uint32_t)tte_sxtb16_ror8(hi), zz) << 32;
      xe += 4;
      xi += 4 * xp;
    }
  }
  for (; i < cin; i += 4) { /* the last channels, or a short block: element by element */
    for (int32_t k = 0; k < 2; ++k)
      for (int32_t c = 0; c < 4; ++c) {
        const int32_t l = c < n && i + k < cin ? xi[(size_t)k * xp + (size_t)c] - zx : 0;
        const int32_t h = c < n && i + k + 2 < cin ? xi[(size_t)(k + 2) * xp + (size_t)c] - zx : 0;
        const uint64_t pair = (uint32_t)(uint16_t)(int16_t)l | ((uint32_t)(uint16_t)(int16_t)h << 16);
        const int32_t e = k * 2 + c / 2;
        xe[e] = (c & 1) ? (xe[e] & 0xffffffffu) | pair << 32 : pair;
      }
    xe += 4;
    xi += 4 * xp;
  }
}

/* The four accumulators of one output channel (weights w[0..cin)) over an expanded block. */
TTE_SPECIALIZE void pw_dot4(const int8_t* w, int32_t cin, const uint64_t* xe, int32_t* acc) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const int8_t* we = w + (cin & ~3);
  const int32_t rest = cin & 3;
  while (w != we) {
    const uint32_t wv = tte_load4(w);
    const int32_t u = tte_sxtb16(wv), v = tte_sxtb16_ror8(wv);
    uint32_t t0, t1;
    tte_ldrd(xe, &t0, &t1);
    a0 = tte_smlad((int32_t)t0, u, a0);
    a1 = tte_smlad((int32_t)t1, u, a1);
    tte_ldrd(xe + 1, &t0, &t1);
    a2 = tte_smlad((int32_t)t0, u, a2);
    a3 = tte_smlad((int32_t)t1, u, a3);
    tte_ldrd(xe + 2, &t0, &t1);
    a0 = tte_smlad((int32_t)t0, v, a0);
    a1 = tte_smlad((int32_t)t1, v, a1);
    tte_ldrd(xe + 3, &t0, &t1);
    a2 = tte_smlad((int32_t)t0, v, a2);
    a3 = tte_smlad((int32_t)t1, v, a3);
    w += 4;
    xe += 4;
  }
  if (rest) { /* the last 1..3 weights, zero-extended to a word (never read past the row) */
    uint32_t wv = (uint8_t)w[0];
    if (rest > 1) wv |= (uint32_t)(uint8_t)w[1] << 8;
    if (rest > 2) wv |= (uint32_t)(uint8_t)w[2] << 16;
    const int32_t u = tte_sxtb16(wv), v = tte_sxtb16_ror8(wv);
    a0 = tte_smlad((int32_t)(uint32_t)xe[0], u, a0);
    a1 = tte_smlad((int32_t)(uint32_t)(xe[0] >> 32), u, a1);
    a2 = tte_smlad((int32_t)(uint32_t)xe[1], u, a2);
    a3 = tte_smlad((int32_t)(uint32_t)(xe[1] >> 32), u, a3);
    a0 = tte_smlad((int32_t)(uint32_t)xe[2], v, a0);
    a1 = tte_smlad((int32_t)(uint32_t)(xe[2] >> 32), v, a1);
    a2 = tte_smlad((int32_t)(uint32_t)xe[3], v, a2);
    a3 = tte_smlad((int32_t)(uint32_t)(xe[3] >> 32), v, a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* tte_rq_fp32 with finite bias and eff (so f is never NaN): f = ((float)acc + bias) * eff as there, then
 * v = sat32(rint(f)) +sat y_zero (VCVTR rounds to nearest even like rintf and saturates; QADD saturates):
 * while |rint(f)| < 2^23 the reference's float addition rint(f) + y_zero is exact, so both see the same
 * integer; beyond, both are out of range on the same side. y = clamp(v, AMIN, AMAX) (one SSAT for the full
 * range), in range iff y == v. Returns the in-range bit. */
TTE_SPECIALIZE uint32_t pw_rq(int32_t acc, float bias, float eff, int32_t yz, int8_t* y, const int32_t AMIN,
                              const int32_t AMAX) {
  const int32_t v = tte_qadd(tte_cvtr(((float)acc + bias) * eff), yz);
  const int32_t c = AMIN == -128 && AMAX == 127 ? tte_ssat8(v) : v < AMIN ? AMIN : v > AMAX ? AMAX : v;
  *y = (int8_t)c;
  return c == v;
}

static int pw_finite(const tte_conv_params* p) {
  for (int32_t o = 0; o < p->cout; ++o) {
    const float b = p->bias_f32 ? p->bias_f32[o] : (float)p->bias_i32[o], e = p->eff[o];
    if (!(b - b == 0.0f && e - e == 0.0f)) return 0; /* inf - inf and NaN - NaN are NaN */
  }
  return 1;
}

/* Everything a block reads, copied out of p (stores through y could alias p's fields otherwise). */
typedef struct {
  const int8_t* w;          /* weight rows of output channels o0.., cin apart */
  const float *bias_f32, *eff;
  const int32_t* bias_i32;
  int32_t cin, no, o0, yz;  /* no output channels from o0 */
  size_t y_plane;
} pw_dsp;

/* The four outputs of every output channel o0 + o (o < no) of one expanded block: y[q + o * y_plane..], mask
 * bits (when MASK) at the same indices. */
TTE_SPECIALIZE void pw_block(const pw_dsp* dp, const uint64_t* xe, int8_t* y, uint8_t* mask, size_t q,
                             const int32_t AMIN, const int32_t AMAX, const int MASK) {
  const pw_dsp d = *dp;
  const int8_t* w = d.w;
  const float* bf = d.bias_f32 ? d.bias_f32 + d.o0 : NULL;
  const int32_t* bi = d.bias_i32 + (bf ? 0 : d.o0);
  const float* eff = d.eff + d.o0;
  for (int32_t o = 0; o < d.no; ++o) {
    int32_t acc[4];
    pw_dot4(w, d.cin, xe, acc);
    const float bias = bf ? bf[o] : (float)bi[o], e = eff[o];
    int8_t* yq = y + q;
    uint32_t bits = pw_rq(acc[0], bias, e, d.yz, yq, AMIN, AMAX);
    bits |= pw_rq(acc[1], bias, e, d.yz, yq + 1, AMIN, AMAX) << 1;
    bits |= pw_rq(acc[2], bias, e, d.yz, yq + 2, AMIN, AMAX) << 2;
    bits |= pw_rq(acc[3], bias, e, d.yz, yq + 3, AMIN, AMAX) << 3;
    if (MASK) {
      if ((q & 3) == 0) { /* one nibble of one byte */
        const uint32_t sh = (uint32_t)(q & 4);
        mask[q >> 3] = (uint8_t)((mask[q >> 3] & ~(0xfu << sh)) | (bits << sh));
      } else {
        for (int32_t c = 0; c < 4; ++c) tte_set_mask(mask, q + (size_t)c, (int)((bits >> c) & 1u));
      }
    }
    w += d.cin;
    q += d.y_plane;
  }
}

/* A block of n < 4 pixels (the end of a row): the same, output by output. */
TTE_OUTLINE static void pw_block_short(const pw_dsp* d, const uint64_t* xe, int32_t n, int8_t* y, uint8_t* mask,
                                       size_t q, int32_t amin, int32_t amax) {
  const int8_t* w = d->w;
  for (int32_t o = 0; o < d->no; ++o) {
    int32_t acc[4];
    const int32_t oc = d->o0 + o;
    const float bias = d->bias_f32 ? d->bias_f32[oc] : (float)d->bias_i32[oc];
    pw_dot4(w, d->cin, xe, acc);
    for (int32_t c = 0; c < n; ++c) {
      const uint32_t bit = pw_rq(acc[c], bias, d->eff[oc], d->yz, y + q + (size_t)c, amin, amax);
      if (mask) tte_set_mask(mask, q + (size_t)c, (int)bit);
    }
    w += d->cin;
    q += d->y_plane;
  }
}

/* One function per instantiation: full range (SSAT) with and without a mask, any range. */
TTE_OUTLINE static void pw_block_full(const pw_dsp* d, const uint64_t* xe, int8_t* y, size_t q) {
  pw_block(d, xe, y, NULL, q, -128, 127, 0);
}
TTE_OUTLINE static void pw_block_full_mask(const pw_dsp* d, const uint64_t* xe, int8_t* y, uint8_t* mask, size_t q) {
  pw_block(d, xe, y, mask, q, -128, 127, 1);
}
TTE_OUTLINE static void pw_block_range(const pw_dsp* d, const uint64_t* xe, int8_t* y, uint8_t* mask, size_t q,
                                       int32_t amin, int32_t amax) {
  if (mask)
    pw_block(d, xe, y, mask, q, amin, amax, 1);
  else
    pw_block(d, xe, y, mask, q, amin, amax, 0);
}

TTE_OUTLINE static void pw_run_dsp(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y, uint8_t* mask) {
  uint64_t xe[TTE_PW_XCH];
  int8_t wrows[TTE_PW_WROWS];
  pw_dsp d;
  const int32_t cin = p->cin, cout = p->cout, chunk = p->w.slot ? TTE_PW_WROWS / cin : cout;
  const int full = p->act_min == -128 && p->act_max == 127;
  d.bias_f32 = p->bias_f32;
  d.bias_i32 = p->bias_i32;
  d.eff = p->eff;
  d.cin = cin;
  d.yz = p->y_zero;
  d.y_plane = g->y_plane;
  for (int32_t o0 = 0; o0 < cout; o0 += chunk) {
    d.o0 = o0;
    d.no = cout - o0 < chunk ? cout - o0 : chunk;
    d.w = p->w.frozen + (size_t)o0 * (size_t)cin;
    if (p->w.slot) {
      for (int32_t o = 0; o < d.no; ++o) pw_weight_row(p, o0 + o, wrows + (size_t)o * (size_t)cin);
      d.w = wrows;
    }
    for (int32_t r = 0; r < g->rows; ++r) {
      const int8_t* xr = x + g->x0 + (size_t)r * g->x_row;
      const size_t q0 = g->y0 + (size_t)r * g->y_row + (size_t)o0 * g->y_plane;
      for (int32_t c = 0; c < g->cols; c += 4) {
        const int32_t n = g->cols - c < 4 ? g->cols - c : 4;
        pw_expand(xr + c, g->x_plane, cin, n, p->x_zero, xe);
        if (n < 4)
          pw_block_short(&d, xe, n, y, mask, q0 + (size_t)c, p->act_min, p->act_max);
        else if (!full)
          pw_block_range(&d, xe, y, mask, q0 + (size_t)c, p->act_min, p->act_max);
        else if (mask)
          pw_block_full_mask(&d, xe, y, mask, q0 + (size_t)c);
        else
          pw_block_full(&d, xe, y, q0 + (size_t)c);
      }
    }
  }
}

/* The DSP path for p, or 0 (TFLITE requantization, more than TTE_PW_XCH input channels, split rows longer than
 * TTE_PW_WROWS, a non-finite bias or scale: the register-blocked loop then). */
static int pw_try_dsp(const tte_conv_params* p, const pw_geom* g, const int8_t* x, int8_t* y, uint8_t* mask) {
  if (p->requant != TTE_REQUANT_FP32 || p->cin > TTE_PW_XCH || (p->w.slot && p->cin > TTE_PW_WROWS) || !pw_finite(p))
    return 0;
  pw_run_dsp(p, g, x, y, mask);
  return 1;
}
#endif

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
#if TTE_PW_DSP
    if (pw_try_dsp(p, &g, x, y, mask)) return 1;
#endif
    if (p->requant == TTE_REQUANT_TFLITE)
      pw_run_tflite(p, &g, x, y, mask);
    else
      pw_run_fp32(p, &g, x, y, mask);
  }
  return 1;
}
