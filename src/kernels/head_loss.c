/*
 * head_loss.c - the fp32 classifier head (a Linear layer over the dequantized pooled int8 features,
 * as the reference's ScaledLinear) and softmax cross-entropy (with tte_expf/tte_logf, tte_math.c).
 */
#include <math.h>
#include <string.h>

#include "kernels/tte_kernels.h"

void tte_head_forward(const tte_head_params* p, const float* W, const float* b, const int8_t* x, float* logits) {
  for (int32_t n = 0; n < p->out; ++n) {
    const float* w = W + (size_t)n * (size_t)p->in;
    float acc = 0.0f;
    for (int32_t c = 0; c < p->in; ++c) acc += w[c] * ((float)((int32_t)x[c] - p->x_zero) * p->x_scale);
    logits[n] = acc + b[n];
  }
}

float tte_softmax_xent(int32_t n, const float* logits, int32_t label, float* dlogits) {
  float m = logits[0];
  for (int32_t i = 1; i < n; ++i)
    if (logits[i] > m) m = logits[i];
  float sum = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    dlogits[i] = tte_expf(logits[i] - m);
    sum += dlogits[i];
  }
  const float lse = m + tte_logf(sum);
  for (int32_t i = 0; i < n; ++i) dlogits[i] = dlogits[i] / sum - (i == label ? 1.0f : 0.0f);
  return lse - logits[label];
}

void tte_head_backward(const tte_head_params* p, float* W, float* b, float* mW, float* mb, const tte_sgd* opt,
                       const int8_t* x, const float* dlogits, float* dx, float* gW, float* gb) {
  if (dx) {
    for (int32_t c = 0; c < p->in; ++c) {
      float acc = 0.0f;
      for (int32_t n = 0; n < p->out; ++n) acc += W[(size_t)n * (size_t)p->in + (size_t)c] * dlogits[n];
      dx[c] = acc * p->x_scale;
    }
  }
  for (int32_t n = 0; n < p->out; ++n) {
    for (int32_t c = 0; c < p->in; ++c) {
      const size_t e = (size_t)n * (size_t)p->in + (size_t)c;
      const float g = dlogits[n] * ((float)((int32_t)x[c] - p->x_zero) * p->x_scale);
      if (opt)
        tte_sgd_f32(opt, &W[e], mW ? &mW[e] : 0, g);
      else
        gW[e] += g;
    }
    if (opt)
      tte_sgd_f32(opt, &b[n], mb ? &mb[n] : 0, dlogits[n]);
    else
      gb[n] += dlogits[n];
  }
}

void tte_head_apply_update(const tte_head_params* p, const tte_sgd* opt, float* W, float* b, float* mW, float* mb,
                           float* gW, float* gb) {
  const size_t nw = (size_t)p->out * (size_t)p->in;
  for (size_t e = 0; e < nw; ++e) {
    tte_sgd_f32(opt, &W[e], mW ? &mW[e] : 0, gW[e]);
    gW[e] = 0.0f;
  }
  for (int32_t n = 0; n < p->out; ++n) {
    tte_sgd_f32(opt, &b[n], mb ? &mb[n] : 0, gb[n]);
    gb[n] = 0.0f;
  }
}
