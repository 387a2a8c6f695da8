/*
 * optim.c - QAS-SGD updates for one parameter element, in the two storage modes:
 *   master mode (the reference simulation): fp32 master copies, p = tte_fmaf(-lr, buf, p), and the int8
 *     weight the forward reads is clamp(rint(master), -128, 127);
 *   device mode: int8 weights / int32 biases updated in place with round-half-even or stochastic
 *     rounding and saturation (never truncation toward zero).
 * QAS divides the gradient by a per-output-channel factor prepared by the compiler: s_w^2 for
 * weights, (s_x s_w)^2 for biases (1 when QAS is off).
 */
#include <math.h>

#include "kernels/tte_kernels.h"

/* R(v): the device-mode rounding of an update. */
static float round_update(const tte_sgd* opt, float v) {
  if (opt->rounding == TTE_ROUND_STOCHASTIC) {
    *opt->rng = tte_xorshift32(*opt->rng);
    const float u = (float)(*opt->rng >> 8) * (1.0f / 16777216.0f); /* [0, 1) */
    return floorf(v + u);
  }
  return rintf(v);
}

static float momentum_step(const tte_sgd* opt, float* mom, float step) {
  if (!mom) return step;
  *mom = opt->momentum * *mom + step;
  return *mom;
}

static int8_t clamp_s8(float v) {
  if (v < -128.0f) return (int8_t)-128;
  if (v > 127.0f) return (int8_t)127;
  return (int8_t)(int32_t)v;
}

void tte_sgd_weight(const tte_sgd* opt, const tte_conv_train* t, int32_t e, int32_t o, float g) {
  float step = (g * opt->grad_scale) / t->qas_w[o];
  step = momentum_step(opt, t->w_mom ? &t->w_mom[e] : 0, step);
  if (opt->store == TTE_STORE_MASTER) {
    const float p = tte_fmaf(-opt->lr, step, t->w_master[e]);
    t->w_master[e] = p;
    t->w[e] = clamp_s8(rintf(p));
  } else {
    const float d = round_update(opt, -opt->lr * step);
    t->w[e] = clamp_s8((float)t->w[e] + d);
  }
}

void tte_sgd_bias(const tte_sgd* opt, const tte_conv_train* t, int32_t c, float g) {
  float step = (g * opt->grad_scale) / t->qas_b[c];
  step = momentum_step(opt, t->b_mom ? &t->b_mom[c] : 0, step);
  if (opt->store == TTE_STORE_MASTER) {
    t->b_master[c] = tte_fmaf(-opt->lr, step, t->b_master[c]);
  } else {
    const float d = round_update(opt, -opt->lr * step);
    int64_t v;
    if (d >= 4294967296.0f)
      v = INT32_MAX;
    else if (d <= -4294967296.0f)
      v = INT32_MIN;
    else
      v = (int64_t)t->b[c] + (int64_t)d;
    t->b[c] = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
  }
}

void tte_sgd_f32(const tte_sgd* opt, float* p, float* mom, float g) {
  const float step = momentum_step(opt, mom, g * opt->grad_scale);
  *p = tte_fmaf(-opt->lr, step, *p);
}

void tte_conv_apply_update(const tte_sgd* opt, const tte_conv_train* t, float* grad_w, float* grad_b) {
  /* Same element order as the fused kernels (bias, then weights) so the stochastic-rounding stream and
   * therefore the results are identical with and without fused updates. */
  if (grad_b && (t->b || t->b_master)) {
    for (int32_t c = 0; c < t->cout; ++c) {
      tte_sgd_bias(opt, t, c, grad_b[c]);
      grad_b[c] = 0.0f;
    }
  }
  if (grad_w && t->w) {
    if (t->depthwise) { /* slice [n_train][kk]: row j belongs to channel sel[j] */
      for (int32_t j = 0; j < t->n_train; ++j)
        for (int32_t e = 0; e < t->kk; ++e) {
          const int32_t idx = j * t->kk + e;
          tte_sgd_weight(opt, t, idx, t->sel[j], grad_w[idx]);
          grad_w[idx] = 0.0f;
        }
    } else { /* slice [cout][n_train][kk] */
      const int32_t per_o = t->n_train * t->kk;
      for (int32_t o = 0; o < t->cout; ++o)
        for (int32_t e = 0; e < per_o; ++e) {
          const int32_t idx = o * per_o + e;
          tte_sgd_weight(opt, t, idx, o, grad_w[idx]);
          grad_w[idx] = 0.0f;
        }
    }
  }
}
