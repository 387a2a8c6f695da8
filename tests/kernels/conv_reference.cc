// Reference conv kernels (see conv_reference.h).
#include "kernels/conv_reference.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace tte::testing {
namespace {

// Round half away from zero of v / 2^e (e >= 0), exact in 64 bits.
int64_t DivPow2Away(int64_t v, int e) {
  if (e == 0) return v;
  const int64_t mag = v < 0 ? -v : v;
  const int64_t q = (mag + (int64_t{1} << (e - 1))) >> e;
  return v < 0 ? -q : q;
}

int32_t Wrap(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); }

void SetBit(uint8_t* mask, size_t n, bool bit) {
  if (bit)
    mask[n >> 3] = static_cast<uint8_t>(mask[n >> 3] | (1u << (n & 7)));
  else
    mask[n >> 3] = static_cast<uint8_t>(mask[n >> 3] & ~(1u << (n & 7)));
}

int8_t RequantFp32(int32_t acc, float bias, float eff, int32_t y_zero, int32_t lo, int32_t hi, bool* in_range) {
  const float t = static_cast<float>(acc) + bias;
  const float v = std::nearbyint(t * eff) + static_cast<float>(y_zero);
  *in_range = v >= static_cast<float>(lo) && v <= static_cast<float>(hi);
  if (v < static_cast<float>(lo)) return static_cast<int8_t>(lo);
  if (v > static_cast<float>(hi)) return static_cast<int8_t>(hi);
  return static_cast<int8_t>(static_cast<int32_t>(v));
}

int8_t RequantTflite(int32_t acc, int32_t bias, int32_t mult, int32_t shift, int32_t y_zero, int32_t lo, int32_t hi,
                     bool* in_range) {
  const int32_t v = Wrap(int64_t{RefMbqm(Wrap(int64_t{acc} + bias), mult, shift)} + y_zero);
  *in_range = v >= lo && v <= hi;
  return static_cast<int8_t>(std::clamp(v, lo, hi));
}

}  // namespace

int32_t RefMbqm(int32_t x, int32_t mult, int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const int32_t a = Wrap(static_cast<int64_t>(static_cast<uint64_t>(static_cast<uint32_t>(x)) << left));
  const int64_t h = (int64_t{a} * mult + (int64_t{1} << 30)) >> 31;  // floor(a*m/2^31 + 1/2)
  const int32_t hs = h > INT32_MAX ? INT32_MAX : static_cast<int32_t>(h);
  return static_cast<int32_t>(DivPow2Away(hs, right));
}

void RefConv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, int32_t x_zero_delta) {
  const int32_t kk = p->kh * p->kw, ipg = p->cin / p->groups, opg = p->cout / p->groups;
  const int32_t bh = p->in_buf.h, bw = p->in_buf.w;
  const int32_t xz = p->x_zero + x_zero_delta;
  for (int32_t o = 0; o < p->cout; ++o) {
    const int32_t g = o / opg;
    for (int32_t oy = 0; oy < p->out.h; ++oy) {
      for (int32_t ox = 0; ox < p->out.w; ++ox) {
        const int32_t Y = p->out.y0 + oy, X = p->out.x0 + ox;
        int32_t acc = 0;
        for (int32_t ii = 0; ii < ipg; ++ii) {
          const int32_t i = g * ipg + ii;
          const int8_t* wr = tte_weight_row(&p->w, o, ii, i, kk, p->depthwise, ipg);
          for (int32_t kh = 0; kh < p->kh; ++kh) {
            const int32_t iy = Y * p->sh - p->pad_t + kh * p->dh;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kw = 0; kw < p->kw; ++kw) {
              const int32_t ix = X * p->sw - p->pad_l + kw * p->dw;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t xv = x[(static_cast<size_t>(i) * bh + (iy - p->in_buf.y0)) * bw + (ix - p->in_buf.x0)];
              acc += (static_cast<int32_t>(xv) - xz) * static_cast<int32_t>(wr[kh * p->kw + kw]);
            }
          }
        }
        bool in_range;
        int8_t v;
        if (p->requant == TTE_REQUANT_TFLITE)
          v = RequantTflite(acc, p->bias_i32 ? p->bias_i32[o] : 0, p->mult[o], p->shift[o], p->y_zero, p->act_min,
                            p->act_max, &in_range);
        else
          v = RequantFp32(acc, p->bias_f32 ? p->bias_f32[o] : static_cast<float>(p->bias_i32[o]), p->eff[o],
                          p->y_zero, p->act_min, p->act_max, &in_range);
        const size_t n = (static_cast<size_t>(o) * p->out_buf.h + (Y - p->out_buf.y0)) * p->out_buf.w + (X - p->out_buf.x0);
        y[n] = v;
        if (mask) SetBit(mask, n, in_range);
      }
    }
  }
}

void RefBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate) {
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
          const float* go = g + static_cast<size_t>(o) * oh * ow;
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
              acc += static_cast<float>(wr[kh * p->kw + kw]) * go[static_cast<size_t>(ho) * ow + wo];
            }
          }
        }
        float* d = dx + (static_cast<size_t>(i) * p->in_h + y) * p->in_w + x;
        *d = accumulate ? *d + acc : acc;
      }
    }
  }
}

void RefWeightGrad(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs, const float* g,
                   float* dw) {
  const int32_t kk = p->kh * p->kw, hw_in = p->in_h * p->in_w, oh = p->out.h, ow = p->out.w;
  const int32_t opg = p->cout / p->groups;
  // One gradient element: output channel o (g plane), saved input plane xj.
  auto element = [&](int32_t o, const int8_t* xj, int32_t kh, int32_t kw) {
    float acc = 0.0f;
    for (int32_t ho = 0; ho < oh; ++ho)
      for (int32_t wo = 0; wo < ow; ++wo) {
        const int32_t yy = ho * p->sh - p->pad_t + kh * p->dh, xx = wo * p->sw - p->pad_l + kw * p->dw;
        if (yy < 0 || yy >= p->in_h || xx < 0 || xx >= p->in_w) continue;
        acc += g[(static_cast<size_t>(o) * oh + ho) * ow + wo] *
               static_cast<float>(static_cast<int32_t>(xj[static_cast<size_t>(yy) * p->in_w + xx]) - p->x_zero);
      }
    return acc;
  };
  if (p->depthwise) {
    for (int32_t j = 0; j < n; ++j)
      for (int32_t t = 0; t < kk; ++t)
        dw[static_cast<size_t>(j) * kk + t] += element(sel[j], xs + static_cast<size_t>(j) * hw_in, t / p->kw, t % p->kw);
    return;
  }
  for (int32_t o = 0; o < p->cout; ++o)
    for (int32_t j = 0; j < n; ++j) {
      const int32_t plane = (p->groups > 1 ? (o / opg) * n : 0) + j;
      for (int32_t t = 0; t < kk; ++t)
        dw[(static_cast<size_t>(o) * n + j) * kk + t] +=
            element(o, xs + static_cast<size_t>(plane) * hw_in, t / p->kw, t % p->kw);
    }
}

}  // namespace tte::testing
