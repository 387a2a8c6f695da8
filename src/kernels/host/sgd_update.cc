// Host fast path: the fused weight updates of a run of consecutive slice elements of one output channel,
// 8 at a time, bit-identical to calling tte_sgd_weight (optim.c) on each element in order.
//
// tte_sgd_weight per element e (channel o, gradient g):
//   step = (g * grad_scale) / qas_w[o];  if (w_mom) { w_mom[e] = momentum * w_mom[e] + step; step = w_mom[e]; }
//   master: p = fmaf(-lr, step, w_master[e]); w_master[e] = p; w[e] = clamp_s8(rintf(p))
//   device: v = -lr * step; d = stochastic ? floorf(v + u) : rintf(v); w[e] = clamp_s8((float)w[e] + d)
// with u = (rng >> 8) * 2^-24 from one xorshift32 step per element. Elements are independent except for
// the random stream, so 8 elements are one vector of the same IEEE operations (division, FMA = fmaf's
// single rounding, round-to-nearest = rintf, floor = floorf), and the 8 random numbers are drawn in
// element order. clamp_s8 as in avx2_util.h (min/max that keep a NaN; the int8 is the low byte of the
// truncating conversion, 0 for a NaN, as the scalar cast on x86).
#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {

#if TTE_HOST_X86
namespace {

// clamp_s8 (optim.c) of 8 floats: the int8 results in the low 8 bytes.
TTE_AVX2 inline __m128i ClampS8(__m256 v) {
  const __m256 c = _mm256_min_ps(_mm256_set1_ps(127.0f), _mm256_max_ps(_mm256_set1_ps(-128.0f), v));
  const __m256i r = _mm256_and_si256(_mm256_cvttps_epi32(c), _mm256_set1_epi32(0xff));
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  return _mm_packus_epi16(w16, w16);
}

}  // namespace

TTE_AVX2 void SgdWeightRunAvx2(const tte_sgd* opt, const tte_conv_train* t, int32_t e0, int32_t o, const float* g,
                               int32_t count) {
  const __m256 gs = _mm256_set1_ps(opt->grad_scale), qas = _mm256_set1_ps(t->qas_w[o]);
  const __m256 mom_f = _mm256_set1_ps(opt->momentum), neg_lr = _mm256_set1_ps(-opt->lr);
  const bool master = opt->store == TTE_STORE_MASTER;
  const bool stochastic = opt->rounding == TTE_ROUND_STOCHASTIC;
  int32_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const size_t e = static_cast<size_t>(e0 + i);
    __m256 step = _mm256_div_ps(_mm256_mul_ps(_mm256_loadu_ps(g + i), gs), qas);
    if (t->w_mom) {
      step = _mm256_add_ps(_mm256_mul_ps(mom_f, _mm256_loadu_ps(t->w_mom + e)), step);
      _mm256_storeu_ps(t->w_mom + e, step);
    }
    __m256 wf;
    if (master) {
      const __m256 p = _mm256_fmadd_ps(neg_lr, step, _mm256_loadu_ps(t->w_master + e));
      _mm256_storeu_ps(t->w_master + e, p);
      wf = _mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
      const __m256 v = _mm256_mul_ps(neg_lr, step);
      __m256 d;
      if (stochastic) {
        alignas(32) uint32_t bits[8];
        uint32_t s = *opt->rng;
        for (int l = 0; l < 8; ++l) {
          s = tte_xorshift32(s);
          bits[l] = s >> 8;
        }
        *opt->rng = s;
        const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(bits))),
                                       _mm256_set1_ps(1.0f / 16777216.0f));
        d = _mm256_floor_ps(_mm256_add_ps(v, u));
      } else {
        d = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      }
      const __m256 w_old = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(t->w + e))));
      wf = _mm256_add_ps(w_old, d);
    }
    _mm_storel_epi64(reinterpret_cast<__m128i*>(t->w + e), ClampS8(wf));
  }
  for (; i < count; ++i) tte_sgd_weight(opt, t, e0 + i, o, g[i]);
}
#endif  // TTE_HOST_X86

}  // namespace tte::host::internal
