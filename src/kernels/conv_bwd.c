/*
 * conv_bwd.c - backward of the int8 convolution in fp32 (gradients w.r.t. the integer-valued
 * tensors, straight-through rounding; ALGORITHM.md section 3):
 *   - input gradient: transposed convolution with the current int8 weights;
 *   - bias gradient: channel sums, optionally fused with the QAS-SGD update;
 *   - weight gradient of the trainable slice from the saved (selected) input channels, optionally
 *     fused with the update element by element, so no weight-gradient buffer ever exists.
 * Each kernel has a generic loop (the specification) and fast paths for pointwise and depthwise
 * convs that keep exactly the same per-element summation order and the same update order.
 */
#include <string.h>

#include "kernels/tte_kernels.h"

/* ---------------------------------------------------------------------------- input gradient */

TTE_HOT static void bwd_input_generic(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  const int32_t k = p->k, kk = k * k, s = p->stride, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int depthwise = p->groups == p->cin && p->cin == p->cout;
  const int32_t oh = p->out.h, ow = p->out.w;
  for (int32_t i = 0; i < p->cin; ++i) {
    const int32_t grp = i / ipg, ii = i % ipg;
    for (int32_t y = 0; y < p->in_h; ++y) {
      for (int32_t x = 0; x < p->in_w; ++x) {
        float acc = 0.0f;
        for (int32_t oo = 0; oo < opg; ++oo) {
          const int32_t o = grp * opg + oo;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, depthwise, ipg);
          const float* go = g + (size_t)o * (size_t)oh * (size_t)ow;
          for (int32_t kh = 0; kh < k; ++kh) {
            const int32_t ny = y + p->pad - kh;
            if (ny < 0 || ny % s) continue;
            const int32_t ho = ny / s;
            if (ho >= oh) continue;
            for (int32_t kw = 0; kw < k; ++kw) {
              const int32_t nx = x + p->pad - kw;
              if (nx < 0 || nx % s) continue;
              const int32_t wo = nx / s;
              if (wo >= ow) continue;
              acc += (float)wr[kh * k + kw] * go[(size_t)ho * (size_t)ow + (size_t)wo];
            }
          }
        }
        float* d = dx + ((size_t)i * (size_t)p->in_h + (size_t)y) * (size_t)p->in_w + (size_t)x;
        *d = accumulate ? *d + acc : acc;
      }
    }
  }
}

#define TTE_BWD_TILE 64

TTE_HOT static void bwd_input_pointwise(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  const int32_t hw = p->in_h * p->in_w;
  float acc[TTE_BWD_TILE];
  for (int32_t i = 0; i < p->cin; ++i) {
    for (int32_t p0 = 0; p0 < hw; p0 += TTE_BWD_TILE) {
      const int32_t nt = hw - p0 < TTE_BWD_TILE ? hw - p0 : TTE_BWD_TILE;
      for (int32_t t = 0; t < nt; ++t) acc[t] = 0.0f;
      for (int32_t o = 0; o < p->cout; ++o) {
        const float wv = (float)*tte_weight_row(&p->w, o, i, i, 1, 0, p->cin);
        const float* go = g + (size_t)o * (size_t)hw + (size_t)p0;
        for (int32_t t = 0; t < nt; ++t) acc[t] += wv * go[t];
      }
      float* d = dx + (size_t)i * (size_t)hw + (size_t)p0;
      if (accumulate)
        for (int32_t t = 0; t < nt; ++t) d[t] = d[t] + acc[t];
      else
        for (int32_t t = 0; t < nt; ++t) d[t] = acc[t];
    }
  }
}

/* One channel of a depthwise input gradient (any stride): dx plane from g plane, the reference's order
 * (kh, then kw, ascending). */
TTE_HOT static void bwd_input_dw_channel(const tte_conv_params* p, int32_t c, const float* gc, float* dxc,
                                         int32_t accumulate) {
  const int32_t k = p->k, s = p->stride, oh = p->out.h, ow = p->out.w;
  const int8_t* wr = tte_weight_row(&p->w, c, 0, c, k * k, 1, 1);
  for (int32_t y = 0; y < p->in_h; ++y) {
    for (int32_t x = 0; x < p->in_w; ++x) {
      float acc = 0.0f;
      for (int32_t kh = 0; kh < k; ++kh) {
        const int32_t ny = y + p->pad - kh;
        if (ny < 0 || ny % s) continue;
        const int32_t ho = ny / s;
        if (ho >= oh) continue;
        for (int32_t kw = 0; kw < k; ++kw) {
          const int32_t nx = x + p->pad - kw;
          if (nx < 0 || nx % s) continue;
          const int32_t wo = nx / s;
          if (wo >= ow) continue;
          acc += (float)wr[kh * k + kw] * gc[(size_t)ho * (size_t)ow + (size_t)wo];
        }
      }
      float* d = dxc + (size_t)y * (size_t)p->in_w + (size_t)x;
      *d = accumulate ? *d + acc : acc;
    }
  }
}

void tte_conv_dw_backward_input_inplace_f32(const tte_conv_params* p, float* buf, float* scratch) {
  const size_t plane = (size_t)p->in_h * (size_t)p->in_w; /* stride 1: g and dx planes have the same size */
  for (int32_t c = 0; c < p->cin; ++c) {
    bwd_input_dw_channel(p, c, buf + (size_t)c * plane, scratch, 0);
    memcpy(buf + (size_t)c * plane, scratch, plane * sizeof(float));
  }
}

void tte_conv_backward_input_f32(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
  if (p->groups == p->cin && p->cin == p->cout && p->groups > 1) {
    const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out.h * (size_t)p->out.w;
    for (int32_t c = 0; c < p->cin; ++c) bwd_input_dw_channel(p, c, g + (size_t)c * out_plane, dx + (size_t)c * in_plane, accumulate);
    return;
  }
  if (p->k == 1 && p->stride == 1 && p->pad == 0 && p->groups == 1)
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

/* dW for one (output channel o / gradient plane go, saved input plane xj, kh, kw). */
TTE_HOT static float weight_grad_element(const tte_conv_params* p, const float* go, const int8_t* xj, int32_t kh,
                                 int32_t kw) {
  float acc = 0.0f;
  for (int32_t ho = 0; ho < p->out.h; ++ho) {
    const int32_t y = ho * p->stride - p->pad + kh;
    if (y < 0 || y >= p->in_h) continue;
    for (int32_t wo = 0; wo < p->out.w; ++wo) {
      const int32_t x = wo * p->stride - p->pad + kw;
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

TTE_HOT static void weight_grad_pointwise(const tte_conv_params* p, int32_t n, const int8_t* xs, const float* g, float* dw,
                                  const tte_sgd* opt, const tte_conv_train* t) {
  const int32_t hw = p->in_h * p->in_w;
  float acc[TTE_BWD_TILE];
  for (int32_t o = 0; o < p->cout; ++o) {
    const float* go = g + (size_t)o * (size_t)hw;
    for (int32_t j0 = 0; j0 < n; j0 += TTE_BWD_TILE) {
      const int32_t nj = n - j0 < TTE_BWD_TILE ? n - j0 : TTE_BWD_TILE;
      for (int32_t j = 0; j < nj; ++j) acc[j] = 0.0f;
      for (int32_t q = 0; q < hw; ++q) {
        const float gv = go[q];
        const int8_t* xq = xs + (size_t)j0 * (size_t)hw + (size_t)q;
        for (int32_t j = 0; j < nj; ++j) acc[j] += gv * (float)((int32_t)xq[(size_t)j * (size_t)hw] - p->x_zero);
      }
      for (int32_t j = 0; j < nj; ++j) emit(acc[j], o * n + j0 + j, o, dw, opt, t);
    }
  }
}

void tte_conv_weight_grad_f32(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs,
                              const float* g, float* dw, const tte_sgd* opt, const tte_conv_train* t) {
  const int32_t k = p->k, kk = k * k, hw_in = p->in_h * p->in_w, hw_out = p->out.h * p->out.w;
  const int depthwise = p->groups == p->cin && p->cin == p->cout && p->groups > 1;
  if (depthwise) {
    for (int32_t j = 0; j < n; ++j) {
      const int32_t c = sel[j];
      const float* gc = g + (size_t)c * (size_t)hw_out;
      const int8_t* xj = xs + (size_t)j * (size_t)hw_in;
      for (int32_t kh = 0; kh < k; ++kh)
        for (int32_t kw = 0; kw < k; ++kw) emit(weight_grad_element(p, gc, xj, kh, kw), j * kk + kh * k + kw, c, dw, opt, t);
    }
    return;
  }
  if (k == 1 && p->stride == 1 && p->pad == 0 && p->groups == 1) {
    weight_grad_pointwise(p, n, xs, g, dw, opt, t);
    return;
  }
  /* groups == 1 dense conv (grouped non-depthwise convs train all channels: n == cin / groups == cin) */
  for (int32_t o = 0; o < p->cout; ++o) {
    const float* go = g + (size_t)o * (size_t)hw_out;
    for (int32_t j = 0; j < n; ++j) {
      const int8_t* xj = xs + (size_t)j * (size_t)hw_in;
      for (int32_t kh = 0; kh < k; ++kh)
        for (int32_t kw = 0; kw < k; ++kw)
          emit(weight_grad_element(p, go, xj, kh, kw), (o * n + j) * kk + kh * k + kw, o, dw, opt, t);
    }
  }
}
