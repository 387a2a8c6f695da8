// AVX2 helpers shared by the host fast paths: the conv requantization of 8 outputs with exactly the
// portable kernel's operations (fp32 mode and TFLite's integer mode), clamp-mask bit writes, and small
// load/store helpers. Only included by x86-64 translation units; every function carries the avx2/fma
// target attribute.
#pragma once

#include "kernels/host/host_internal.h"

#if TTE_HOST_X86
#include <immintrin.h>

namespace tte::host::internal {

// The portable FP32 requant of 8 outputs (conv_internal.h tte_rq_fp32):
//   t = (float)acc + bias;  v = rintf(t * eff) + y_zero;  in_range = lo <= v <= hi;
//   y = v < lo ? act_min : v > hi ? act_max : (int8_t)(int32_t)v          (lo, hi = act_min, act_max)
// `t` is passed in (callers form it with _mm256_cvtepi32_ps + _mm256_add_ps, the same IEEE operations as
// the scalar conversion and addition). _mm256_round_ps(nearest) is rintf in the default rounding mode.
// Clamping: c = min(hi, max(lo, v)) with the operands ordered so that a NaN v stays NaN (maxps/minps
// return their second operand when one is NaN); the int8 is the low byte of the truncating conversion of
// c, as the scalar cast on x86 (a NaN gives 0x80000000, so 0). in_range is v == c (false for NaN).
// Returns the 8 int8 results in the low 8 bytes; *in_range gets one bit per output.
TTE_AVX2 inline __m128i Requant8(__m256 t, __m256 eff, __m256 yz, __m256 lo, __m256 hi, bool exclude_hi,
                                 uint32_t* in_range) {
  const __m256 v = _mm256_add_ps(_mm256_round_ps(_mm256_mul_ps(t, eff), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), yz);
  const __m256 c = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
  __m256 ok = _mm256_cmp_ps(v, c, _CMP_EQ_OQ);
  if (exclude_hi) ok = _mm256_and_ps(ok, _mm256_cmp_ps(v, hi, _CMP_LT_OQ));  // fault test only
  *in_range = static_cast<uint32_t>(_mm256_movemask_ps(ok));
  const __m256i r = _mm256_and_si256(_mm256_cvttps_epi32(c), _mm256_set1_epi32(0xff));
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  return _mm_packus_epi16(w16, w16);
}

// gemmlowp SaturatingRoundingDoublingHighMul of 8 lanes by one multiplier m != INT32_MIN (so the saturating
// case INT32_MIN * INT32_MIN cannot occur): the even and the odd lanes as exact 64-bit products, the nudge
// (2^30, or 1 - 2^30 for negative products), the division by 2^31 truncating toward zero (negative values
// get 2^31 - 1 added first; the low 32 bits of a logical shift equal those of the arithmetic shift).
// The high half of Srdhm8 for four exact 64-bit products.
TTE_AVX2 inline __m256i SrdhmHigh4(__m256i prod) {
  const __m256i pos = _mm256_set1_epi64x(int64_t{1} << 30), neg = _mm256_set1_epi64x(1 - (int64_t{1} << 30));
  const __m256i round_up = _mm256_set1_epi64x((int64_t{1} << 31) - 1);
  const __m256i is_neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), prod);
  __m256i q = _mm256_add_epi64(prod, _mm256_blendv_epi8(pos, neg, is_neg));
  q = _mm256_add_epi64(q, _mm256_and_si256(is_neg, round_up));
  return _mm256_srli_epi64(q, 31);
}

TTE_AVX2 inline __m256i Srdhm8(__m256i a, int32_t m) {
  const __m256i mv = _mm256_set1_epi32(m);
  const __m256i even = SrdhmHigh4(_mm256_mul_epi32(a, mv));
  const __m256i odd = SrdhmHigh4(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), mv));
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// gemmlowp RoundingDivideByPOT of 8 lanes, 0 <= e <= 31.
TTE_AVX2 inline __m256i Rdbpot8(__m256i x, int32_t e) {
  const __m256i mask = _mm256_set1_epi32(static_cast<int32_t>((int64_t{1} << e) - 1));
  const __m256i rem = _mm256_and_si256(x, mask);
  const __m256i threshold = _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_srli_epi32(x, 31));
  const __m256i shifted = _mm256_sra_epi32(x, _mm_cvtsi32_si128(e));
  return _mm256_sub_epi32(shifted, _mm256_cmpgt_epi32(rem, threshold));
}

// The portable TFLITE requant of 8 outputs (conv_internal.h tte_rq_tflite): v = MBQM(acc + bias, mult,
// shift) + y_zero with int32 wrap-around, in_range = act_min <= v <= act_max, y = clamp(v). Returns the 8
// int8 results in the low 8 bytes; *in_range gets one bit per output.
TTE_AVX2 inline __m128i RequantTflite8(__m256i acc, int32_t bias, int32_t mult, int32_t shift, int32_t y_zero,
                                       int32_t act_min, int32_t act_max, uint32_t* in_range) {
  const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  __m256i a = _mm256_sll_epi32(_mm256_add_epi32(acc, _mm256_set1_epi32(bias)), _mm_cvtsi32_si128(left));
  __m256i v;
  if (mult == INT32_MIN) {  // SRDHM's saturating case is possible: lane by lane
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi32(acc, _mm256_set1_epi32(bias)));
    for (int32_t& l : lanes) l = tte_mbqm(l, mult, shift);
    v = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  } else {
    v = Rdbpot8(Srdhm8(a, mult), right);
  }
  v = _mm256_add_epi32(v, _mm256_set1_epi32(y_zero));
  const __m256i lo = _mm256_set1_epi32(act_min), hi = _mm256_set1_epi32(act_max);
  const __m256i out = _mm256_or_si256(_mm256_cmpgt_epi32(lo, v), _mm256_cmpgt_epi32(v, hi));
  *in_range = ~static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(out))) & 0xffu;
  const __m256i c = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
  return _mm_packs_epi16(w16, w16);
}

// Stores `count` (1..8) int8 results.
TTE_AVX2 inline void StoreBytes(int8_t* dst, __m128i v, int count) {
  if (count == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
  } else {
    alignas(16) int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), v);
    for (int i = 0; i < count; ++i) dst[i] = tmp[i];
  }
}

// Writes bits[0..count) of `bits` to mask elements n, n+1, ... (element n: byte n >> 3, bit n & 7),
// touching no other bit, like the portable set_mask().
inline void WriteMaskBits(uint8_t* mask, size_t n, uint32_t bits, int count) {
  if ((n & 7) == 0 && count == 8) {
    mask[n >> 3] = static_cast<uint8_t>(bits);
    return;
  }
  for (int i = 0; i < count; ++i, ++n) {
    const uint8_t b = static_cast<uint8_t>(1u << (n & 7));
    if ((bits >> i) & 1u)
      mask[n >> 3] = static_cast<uint8_t>(mask[n >> 3] | b);
    else
      mask[n >> 3] = static_cast<uint8_t>(mask[n >> 3] & ~b);
  }
}

// Lane mask selecting the first `count` (0..8) of 8 fp32 lanes (for maskload / maskstore).
TTE_AVX2 inline __m256i FirstLanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float BiasOf(const tte_conv_params& p, int32_t o) {
  return p.bias_f32 ? p.bias_f32[o] : static_cast<float>(p.bias_i32[o]);
}

}  // namespace tte::host::internal

#endif  // TTE_HOST_X86
