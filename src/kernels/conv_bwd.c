/*
 * conv_bwd.c - backward of the int8 convolution in fp32 (gradients w.r.t. the integer-valued
 * tensors, straight-through rounding; ALGORITHM.md section 3):
 *   - input gradient: transposed convolution with the current int8 weights;
 *   - bias gradient: channel sums, optionally fused with the QAS-SGD update;
 *   - weight gradient of the trainable slice from the saved (selected) input channels, optionally
 *     fused with the update element by element, so no weight-gradient buffer ever exists.
 * Any geometry of tte_conv_params (rectangular kernels, per-axis stride and dilation, asymmetric padding,
 * groups, depthwise with a channel multiplier); the requant mode does not matter here (g arrives masked
 * and scaled). Each kernel has a generic loop (the specification) and fast paths for pointwise and
 * depthwise convs, gated on the exact conditions they support, that keep exactly the same per-element
 * summation order and the same update order (the input gradient's fast paths block several elements in
 * fp32 registers, each still summed o / kh / kw ascending; tests/kernels/portable_paths_test.cc compares
 * them with the generic loop).
 */
#include <string.h>

#include "kernels/tte_kernels.h"


/* ---------------------------------------------------------------------------- input gradient */

/* acc + the taps of one output-gradient plane go that read input pixel (y, x): sum over (kh, kw) ascending of
 * w[kh][kw] * go[(y + pad_t - kh*dh) / sh][(x + pad_l - kw*dw) / sw] where those divisions are exact and in
 * range (the reference order of the transposed conv). */
static inline float transposed_taps(const tte_conv_params* p, const int8_t* wr, const float* go, int32_t y, int32_t x,
                                    float acc) {
  const int32_t oh = p->out.h, ow = p->out.w;
  for (int32_t kh = 0; kh < p->kh; ++kh) {
    const int32_t ny = y + p->pad_t - kh * p->dh;
    if (ny < 0 || ny % p->sh) continue;
    const int32_t ho = ny / p->sh;
    if (ho >= oh) continue;
    for (int32_t kw = 0; kw < p->kw; ++kw) {
      const int32_t nx = x + p->pad_l - kw * p->dw;
      if (nx < 0 || nx % p->sw) continue;
      const int32_t wo = nx / p->sw;
      if (wo >= ow) continue;
      acc += (float)wr[kh * p->kw + kw] * go[(size_t)ho * (size_t)ow + (size_t)wo];
    }
  }
  return acc;
}

/* The specification: for each dx element, the output channels reading its input channel (o ascending; for
 * depthwise with multiplier m, o = i*m .. i*m + m - 1), then kh, kw. */
TTE_HOT static void bwd_input_generic(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  const int32_t kk = p->kh * p->kw, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int32_t oh = p->out.h, ow = p->out.w;
  for (int32_t i = 0; i < p->cin; ++i) {
    const int32_t grp = i / ipg, ii = i % ipg;
    for (int32_t y = 0; y < p->in_h; ++y) {
      for (int32_t x = 0; x < p->in_w; ++x) {
        float acc = 0.0f;
        for (int32_t oo = 0; oo < opg; ++oo) {
          const int32_t o = grp * opg + oo;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, p->depthwise, ipg);
          acc = transposed_taps(p, wr, g + (size_t)o * (size_t)oh * (size_t)ow, y, x, acc);
        }
        float* d = dx + ((size_t)i * (size_t)p->in_h + (size_t)y) * (size_t)p->in_w + (size_t)x;
        *d = accumulate ? *d + acc : acc;
      }
    }
  }
}

#define TTE_BWD_TILE 64

/* Pointwise input gradient: dx[i][q] (+)= sum_o W(o, i) * g[o][q], o ascending from 0.0f. Four input
 * channels times four pixels of fp32 accumulators stay in registers over a chunk of TTE_BWD_OC output
 * channels, whose weights are converted to float on the stack; between chunks the sums wait in a stack
 * tile (stored and reloaded exactly), so every element still sees o ascending. A missing fourth channel
 * (cin % 4) is computed on a duplicate and not written. */
#define TTE_BWD_OC 64
#define TTE_BWD_PT 64

/* Declares float a, b, c, d = p[0..3]. On Cortex-M cores with an FPU, one VLDMIA into the four consecutive
 * registers from S<r> (GCC issues four VLDR otherwise; the values are the same). */
#if defined(__ARM_FP) && defined(__thumb2__) && defined(__GNUC__) && !defined(TTE_NO_ASM)
#define TTE_VLD4(a, b, c, d, p, r0, r1, r2, r3)                                                              \
  register float a __asm__(r0), b __asm__(r1), c __asm__(r2), d __asm__(r3);                                 \
  __asm__("vldmia %4, {%0, %1, %2, %3}" : "=t"(a), "=t"(b), "=t"(c), "=t"(d) : "r"(p), "m"(*(const float(*)[4])(p)))
#else
#define TTE_VLD4(a, b, c, d, p, r0, r1, r2, r3) const float a = (p)[0], b = (p)[1], c = (p)[2], d = (p)[3]
#endif

TTE_HOT static void bwd_input_pointwise(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  const int32_t hw = p->in_h * p->in_w, cin = p->cin, cout = p->cout;
  float wf[TTE_BWD_OC][4];
  float acc[4][TTE_BWD_PT];
  for (int32_t i = 0; i < cin; i += 4) {
    int32_t ic[4];
    for (int32_t u = 0; u < 4; ++u) ic[u] = i + u < cin ? i + u : cin - 1;
    for (int32_t p0 = 0; p0 < hw; p0 += TTE_BWD_PT) {
      const int32_t nt = hw - p0 < TTE_BWD_PT ? hw - p0 : TTE_BWD_PT;
      for (int32_t u = 0; u < 4; ++u)
        for (int32_t t = 0; t < nt; ++t) acc[u][t] = 0.0f;
      for (int32_t o0 = 0; o0 < cout; o0 += TTE_BWD_OC) {
        const int32_t no = cout - o0 < TTE_BWD_OC ? cout - o0 : TTE_BWD_OC;
        if (p->w.slot) {
          for (int32_t o = 0; o < no; ++o)
            for (int32_t u = 0; u < 4; ++u) wf[o][u] = (float)*tte_weight_row(&p->w, o0 + o, ic[u], ic[u], 1, 0, cin);
        } else { /* plain OIHW: W(o, i) = frozen[o * cin + i] */
          const int8_t* wr = p->w.frozen + (size_t)o0 * (size_t)cin;
          for (int32_t o = 0; o < no; ++o, wr += cin) {
            wf[o][0] = (float)wr[ic[0]];
            wf[o][1] = (float)wr[ic[1]];
            wf[o][2] = (float)wr[ic[2]];
            wf[o][3] = (float)wr[ic[3]];
          }
        }
        const float* gb = g + (size_t)o0 * (size_t)hw + (size_t)p0;
        int32_t t = 0;
        for (; t + 4 <= nt; t += 4) {
          float a00 = acc[0][t], a01 = acc[0][t + 1], a02 = acc[0][t + 2], a03 = acc[0][t + 3];
          float a10 = acc[1][t], a11 = acc[1][t + 1], a12 = acc[1][t + 2], a13 = acc[1][t + 3];
          float a20 = acc[2][t], a21 = acc[2][t + 1], a22 = acc[2][t + 2], a23 = acc[2][t + 3];
          float a30 = acc[3][t], a31 = acc[3][t + 1], a32 = acc[3][t + 2], a33 = acc[3][t + 3];
          const float* go = gb + t;
          for (int32_t o = 0; o < no; ++o) {
            TTE_VLD4(g0, g1, g2, g3, go, "s24", "s25", "s26", "s27");
            TTE_VLD4(w0, w1, w2, w3, wf[o], "s28", "s29", "s30", "s31");
            a00 += w0 * g0; a01 += w0 * g1; a02 += w0 * g2; a03 += w0 * g3;
            a10 += w1 * g0; a11 += w1 * g1; a12 += w1 * g2; a13 += w1 * g3;
            a20 += w2 * g0; a21 += w2 * g1; a22 += w2 * g2; a23 += w2 * g3;
            a30 += w3 * g0; a31 += w3 * g1; a32 += w3 * g2; a33 += w3 * g3;
            go += hw;
          }
          acc[0][t] = a00; acc[0][t + 1] = a01; acc[0][t + 2] = a02; acc[0][t + 3] = a03;
          acc[1][t] = a10; acc[1][t + 1] = a11; acc[1][t + 2] = a12; acc[1][t + 3] = a13;
          acc[2][t] = a20; acc[2][t + 1] = a21; acc[2][t + 2] = a22; acc[2][t + 3] = a23;
          acc[3][t] = a30; acc[3][t + 1] = a31; acc[3][t + 2] = a32; acc[3][t + 3] = a33;
        }
        for (; t < nt; ++t) {
          float a0 = acc[0][t], a1 = acc[1][t], a2 = acc[2][t], a3 = acc[3][t];
          const float* go = gb + t;
          for (int32_t o = 0; o < no; ++o) {
            const float gv = *go;
            a0 += wf[o][0] * gv;
            a1 += wf[o][1] * gv;
            a2 += wf[o][2] * gv;
            a3 += wf[o][3] * gv;
            go += hw;
          }
          acc[0][t] = a0;
          acc[1][t] = a1;
          acc[2][t] = a2;
          acc[3][t] = a3;
        }
      }
      for (int32_t u = 0; u < 4 && i + u < cin; ++u) {
        float* d = dx + (size_t)(i + u) * (size_t)hw + (size_t)p0;
        if (accumulate)
          for (int32_t t = 0; t < nt; ++t) d[t] = d[t] + acc[u][t];
        else
          for (int32_t t = 0; t < nt; ++t) d[t] = acc[u][t];
      }
    }
  }
}

/* Depthwise channel (multiplier 1, no dilation), KH, KW, SH, SW = the kernel and strides (constants when
 * inlined from bwd_dw_band_run): for each dx row y, the KH gradient rows it reads (kh ascending) are laid
 * out in `band` as dense rows of the transposed convolution: band[kh][c] = g[ho][wo] when
 * y + pad_t - kh = ho * SH and c - a = wo * SW (a = KW - 1 - pad_l columns on the left) with ho, wo in
 * range, else 0. So every tap is in range: dx[y][x] = sum_{kh, kw} w[kh][kw] * band[kh][x + KW - 1 - kw], kh
 * then kw ascending, from +0.0f, where the taps of the generic loop read the same g values in the same
 * order and the others read 0. A zero tap adds w * 0 = +-0 to a sum that is never -0 (it starts at +0 and
 * IEEE addition under round-to-nearest only gives -0 from two -0 operands), so the sum equals the one that
 * skips the tap, bit for bit; so kernel rows that read no gradient row (all zeros: out of range, or between
 * the rows of a stride) are skipped altogether. */
#define TTE_DW_BAND 384 /* floats (1.5 KB of stack): KH rows of in_w + KW - 1 */

TTE_SPECIALIZE void bwd_dw_band(const tte_conv_params* p, const float* wf, const float* gc, float* dxc, int32_t accumulate,
                                float* band, const int32_t KH, const int32_t KW, const int32_t SH, const int32_t SW) {
  const int32_t h = p->in_h, w = p->in_w, oh = p->out.h, ow = p->out.w, a = KW - 1 - p->pad_l, bw = w + KW - 1;
  for (int32_t y = 0; y < h; ++y) {
    int32_t live[64]; /* (KH <= 64) the kernel rows that read a gradient row (the others are all zeros: skipped) */
    int32_t nlive = 0;
    for (int32_t kh = 0; kh < KH; ++kh) {
      float* b = band + (size_t)kh * (size_t)bw;
      const int32_t ny = y + p->pad_t - kh;
      const int32_t ho = ny >= 0 && ny % SH == 0 ? ny / SH : -1;
      if (ho < 0 || ho >= oh) continue;
      live[nlive++] = kh;
      const float* gr = gc + (size_t)ho * (size_t)ow;
      for (int32_t c = 0; c < bw; ++c) {
        const int32_t nx = c - a;
        b[c] = (nx >= 0 && nx % SW == 0 && nx / SW < ow) ? gr[nx / SW] : 0.0f;
      }
    }
    float* d = dxc + (size_t)y * (size_t)w;
    int32_t x = 0;
    for (; x + 4 <= w; x += 4) {
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
      for (int32_t l = 0; l < nlive; ++l) {
        const int32_t kh = live[l];
        const float* b = band + (size_t)kh * (size_t)bw + (size_t)(x + KW - 1);
        const float* wr = wf + kh * KW;
        TTE_UNROLL
        for (int32_t kw = 0; kw < KW; ++kw) {
          const float wv = wr[kw];
          a0 += wv * b[-kw];
          a1 += wv * b[1 - kw];
          a2 += wv * b[2 - kw];
          a3 += wv * b[3 - kw];
        }
      }
      if (accumulate) {
        d[x] = d[x] + a0;
        d[x + 1] = d[x + 1] + a1;
        d[x + 2] = d[x + 2] + a2;
        d[x + 3] = d[x + 3] + a3;
      } else {
        d[x] = a0;
        d[x + 1] = a1;
        d[x + 2] = a2;
        d[x + 3] = a3;
      }
    }
    for (; x < w; ++x) {
      float acc = 0.0f;
      for (int32_t l = 0; l < nlive; ++l) {
        const int32_t kh = live[l];
        const float* b = band + (size_t)kh * (size_t)bw + (size_t)(x + KW - 1);
        for (int32_t kw = 0; kw < KW; ++kw) acc += wf[kh * KW + kw] * b[-kw];
      }
      d[x] = accumulate ? d[x] + acc : acc;
    }
  }
}

/* The band fast path of one channel, or 0 if it does not apply (left padding at most KW - 1, no dilation,
 * the band fits on the stack). */
TTE_HOT static int bwd_dw_band_run(const tte_conv_params* p, int32_t c, const float* gc, float* dxc, int32_t accumulate) {
  const int32_t kh = p->kh, kw = p->kw, kk = kh * kw, sh = p->sh, sw = p->sw;
  float band[TTE_DW_BAND];
  float wf[64];
  if (p->dh != 1 || p->dw != 1 || sh < 1 || sw < 1 || p->pad_t < 0 || p->pad_l < 0 || p->pad_l > kw - 1 || kk > 64 ||
      kh * (p->in_w + kw - 1) > TTE_DW_BAND)
    return 0;
  {
    const int8_t* wr = tte_weight_row(&p->w, c, 0, c, kk, 1, 1);
    for (int32_t t = 0; t < kk; ++t) wf[t] = (float)wr[t];
  }
  const int square = kh == kw && sh == sw;
  if (square && kh == 3 && sh == 1) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 3, 3, 1, 1);
  else if (square && kh == 5 && sh == 1) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 5, 5, 1, 1);
  else if (square && kh == 7 && sh == 1) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 7, 7, 1, 1);
  else if (square && kh == 3 && sh == 2) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 3, 3, 2, 2);
  else if (square && kh == 5 && sh == 2) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 5, 5, 2, 2);
  else if (square && kh == 7 && sh == 2) bwd_dw_band(p, wf, gc, dxc, accumulate, band, 7, 7, 2, 2);
  else bwd_dw_band(p, wf, gc, dxc, accumulate, band, kh, kw, sh, sw);
  return 1;
}

/* One channel of a depthwise (multiplier 1) input gradient: dx plane from g plane, the reference's order
 * (kh, then kw, ascending). */
TTE_HOT static void bwd_input_dw_channel(const tte_conv_params* p, int32_t c, const float* gc, float* dxc,
                                         int32_t accumulate) {
  if (bwd_dw_band_run(p, c, gc, dxc, accumulate)) return;
  const int8_t* wr = tte_weight_row(&p->w, c, 0, c, p->kh * p->kw, 1, 1);
  for (int32_t y = 0; y < p->in_h; ++y) {
    for (int32_t x = 0; x < p->in_w; ++x) {
      const float acc = transposed_taps(p, wr, gc, y, x, 0.0f);
      float* d = dxc + (size_t)y * (size_t)p->in_w + (size_t)x;
      *d = accumulate ? *d + acc : acc;
    }
  }
}

void tte_conv_dw_backward_input_inplace_f32(const tte_conv_params* p, float* buf, float* scratch) {
  const size_t plane = (size_t)p->in_h * (size_t)p->in_w; /* g and dx planes have the same size */
  for (int32_t c = 0; c < p->cin; ++c) {
    bwd_input_dw_channel(p, c, buf + (size_t)c * plane, scratch, 0);
    memcpy(buf + (size_t)c * plane, scratch, plane * sizeof(float));
  }
}

void tte_conv_backward_input_f32(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  if (p->depthwise && p->cout == p->cin) {
    const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out.h * (size_t)p->out.w;
    for (int32_t c = 0; c < p->cin; ++c) bwd_input_dw_channel(p, c, g + (size_t)c * out_plane, dx + (size_t)c * in_plane, accumulate);
    return;
  }
  if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_t == 0 && p->pad_b == 0 && p->pad_l == 0 &&
      p->pad_r == 0 && p->groups == 1 && !p->depthwise)
    bwd_input_pointwise(p, g, dx, accumulate);
  else
    bwd_input_generic(p, g, dx, accumulate);
}

/* ---------------------------------------------------------------------------- bias gradient */

void tte_conv_bias_grad_f32(int32_t c, int32_t hw, const float* g, float* db, const tte_sgd* opt,
                            const tte_conv_train* t) {
  for (int32_t ch = 0; ch < c; ++ch) {
    const float* gc = g + (size_t)ch * (size_t)hw;
    float s = 0.0f;
    for (int32_t p = 0; p < hw; ++p) s += gc[p];
    if (t)
      tte_sgd_bias(opt, t, ch, s);
    else
      db[ch] += s;
  }
}

/* ---------------------------------------------------------------------------- weight gradient */

/* dW for one (output channel o / gradient plane go, saved input plane xj, kh, kw): ho, wo ascending. */
TTE_HOT static float weight_grad_element(const tte_conv_params* p, const float* go, const int8_t* xj, int32_t kh,
                                         int32_t kw) {
  float acc = 0.0f;
  for (int32_t ho = 0; ho < p->out.h; ++ho) {
    const int32_t y = ho * p->sh - p->pad_t + kh * p->dh;
    if (y < 0 || y >= p->in_h) continue;
    for (int32_t wo = 0; wo < p->out.w; ++wo) {
      const int32_t x = wo * p->sw - p->pad_l + kw * p->dw;
      if (x < 0 || x >= p->in_w) continue;
      acc += go[(size_t)ho * (size_t)p->out.w + (size_t)wo] *
             (float)((int32_t)xj[(size_t)y * (size_t)p->in_w + (size_t)x] - p->x_zero);
    }
  }
  return acc;
}

static void emit(float v, int32_t idx, int32_t o, float* dw, const tte_sgd* opt, const tte_conv_train* t) {
  if (t)
    tte_sgd_weight(opt, t, idx, o, v);
  else
    dw[idx] += v;
}

/* Pointwise weight gradient, dW(o, j) = sum_q g[o][q] * (float)(xs[j][q] - x_zero), q ascending from +0.0f,
 * emitted o ascending, then j ascending (the update order of the fused SGD: its stochastic rounding draws in that
 * order). Four output channels times four rows of fp32 accumulators stay in registers over q (each element still
 * sums q ascending); the n results of the four channels wait in a stack tile and are emitted channel by channel.
 * Missing channels / rows of the last block (cout % 4, n % 4) are computed on duplicates and not kept. Up to
 * TTE_WG_MAXN rows (more: one channel at a time, j in tiles, as plainly as the specification). */
#define TTE_WG_MAXN 64

TTE_HOT TTE_OUTLINE static void weight_grad_pointwise(const tte_conv_params* p, int32_t n, const int8_t* xs, const float* g,
                                                      float* dw, const tte_sgd* opt, const tte_conv_train* t) {
  const int32_t hw = p->in_h * p->in_w, zx = p->x_zero, cout = p->cout;
  if (n <= TTE_WG_MAXN) {
    float res[4][TTE_WG_MAXN];
    for (int32_t o = 0; o < cout; o += 4) {
      const int32_t no = cout - o < 4 ? cout - o : 4;
      const float* g0 = g + (size_t)o * (size_t)hw;
      const float* g1 = g + (size_t)(no > 1 ? o + 1 : o) * (size_t)hw;
      const float* g2 = g + (size_t)(no > 2 ? o + 2 : o) * (size_t)hw;
      const float* g3 = g + (size_t)(no > 3 ? o + 3 : o) * (size_t)hw;
      for (int32_t j = 0; j < n; j += 4) {
        const int8_t* x0 = xs + (size_t)j * (size_t)hw;
        const int8_t* x1 = xs + (size_t)(j + 1 < n ? j + 1 : j) * (size_t)hw;
        const int8_t* x2 = xs + (size_t)(j + 2 < n ? j + 2 : j) * (size_t)hw;
        const int8_t* x3 = xs + (size_t)(j + 3 < n ? j + 3 : j) * (size_t)hw;
        float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
        float a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f, a30 = 0.0f, a31 = 0.0f, a32 = 0.0f, a33 = 0.0f;
        for (int32_t q = 0; q < hw; ++q) {
          const float v0 = (float)((int32_t)x0[q] - zx), v1 = (float)((int32_t)x1[q] - zx);
          const float v2 = (float)((int32_t)x2[q] - zx), v3 = (float)((int32_t)x3[q] - zx);
          const float h0 = g0[q], h1 = g1[q], h2 = g2[q], h3 = g3[q];
          a00 += h0 * v0; a01 += h0 * v1; a02 += h0 * v2; a03 += h0 * v3;
          a10 += h1 * v0; a11 += h1 * v1; a12 += h1 * v2; a13 += h1 * v3;
          a20 += h2 * v0; a21 += h2 * v1; a22 += h2 * v2; a23 += h2 * v3;
          a30 += h3 * v0; a31 += h3 * v1; a32 += h3 * v2; a33 += h3 * v3;
        }
        res[0][j] = a00; res[1][j] = a10; res[2][j] = a20; res[3][j] = a30;
        if (j + 1 < n) { res[0][j + 1] = a01; res[1][j + 1] = a11; res[2][j + 1] = a21; res[3][j + 1] = a31; }
        if (j + 2 < n) { res[0][j + 2] = a02; res[1][j + 2] = a12; res[2][j + 2] = a22; res[3][j + 2] = a32; }
        if (j + 3 < n) { res[0][j + 3] = a03; res[1][j + 3] = a13; res[2][j + 3] = a23; res[3][j + 3] = a33; }
      }
      for (int32_t a = 0; a < no; ++a)
        for (int32_t j = 0; j < n; ++j) emit(res[a][j], (o + a) * n + j, o + a, dw, opt, t);
    }
    return;
  }
  {
    float acc[TTE_BWD_TILE];
    for (int32_t o = 0; o < cout; ++o) {
      const float* go = g + (size_t)o * (size_t)hw;
      for (int32_t j0 = 0; j0 < n; j0 += TTE_BWD_TILE) {
        const int32_t nj = n - j0 < TTE_BWD_TILE ? n - j0 : TTE_BWD_TILE;
        for (int32_t j = 0; j < nj; ++j) acc[j] = 0.0f;
        for (int32_t q = 0; q < hw; ++q) {
          const float gv = go[q];
          const int8_t* xq = xs + (size_t)j0 * (size_t)hw + (size_t)q;
          for (int32_t j = 0; j < nj; ++j) acc[j] += gv * (float)((int32_t)xq[(size_t)j * (size_t)hw] - zx);
        }
        for (int32_t j = 0; j < nj; ++j) emit(acc[j], o * n + j0 + j, o, dw, opt, t);
      }
    }
  }
}

void tte_conv_weight_grad_f32(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs,
                              const float* g, float* dw, const tte_sgd* opt, const tte_conv_train* t) {
  const int32_t KH = p->kh, KW = p->kw, kk = KH * KW, hw_in = p->in_h * p->in_w, hw_out = p->out.h * p->out.w;
  if (p->depthwise) {
    /* row j: output channel sel[j] (g plane), its input channel's saved plane xs[j] */
    for (int32_t j = 0; j < n; ++j) {
      const int32_t c = sel[j];
      const float* gc = g + (size_t)c * (size_t)hw_out;
      const int8_t* xj = xs + (size_t)j * (size_t)hw_in;
      for (int32_t kh = 0; kh < KH; ++kh)
        for (int32_t kw = 0; kw < KW; ++kw) emit(weight_grad_element(p, gc, xj, kh, kw), j * kk + kh * KW + kw, c, dw, opt, t);
    }
    return;
  }
  if (KH == 1 && KW == 1 && p->sh == 1 && p->sw == 1 && p->pad_t == 0 && p->pad_b == 0 && p->pad_l == 0 &&
      p->pad_r == 0 && p->groups == 1) {
    weight_grad_pointwise(p, n, xs, g, dw, opt, t);
    return;
  }
  /* Dense (groups == 1: xs holds the n selected channels) or grouped non-depthwise (n == cin / groups, xs
   * holds every input channel in order, and output o of group o / opg reads the channels of that group:
   * plane (o / opg) * n + j). For groups == 1 the group offset is 0. */
  const int32_t opg = p->cout / p->groups;
  for (int32_t o = 0; o < p->cout; ++o) {
    const float* go = g + (size_t)o * (size_t)hw_out;
    const int8_t* xg = xs + (size_t)(p->groups > 1 ? (o / opg) * n : 0) * (size_t)hw_in;
    for (int32_t j = 0; j < n; ++j) {
      const int8_t* xj = xg + (size_t)j * (size_t)hw_in;
      for (int32_t kh = 0; kh < KH; ++kh)
        for (int32_t kw = 0; kw < KW; ++kw)
          emit(weight_grad_element(p, go, xj, kh, kw), (o * n + j) * kk + kh * KW + kw, o, dw, opt, t);
    }
  }
}
