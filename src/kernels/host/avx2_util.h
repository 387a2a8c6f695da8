// AVX2 helpers shared by the host fast paths: the conv requantization of 8 outputs with exactly the
// portable kernel's fp32 operations, clamp-mask bit writes, and small load/store helpers. Only included
// by x86-64 translation units; every function carries the avx2/fma target attribute.
#pragma once

#include "kernels/host/host_internal.h"

#if TTE_HOST_X86
#include <immintrin.h>

namespace tte::host::internal {

// The portable requant of 8 outputs (conv_fwd.c requant()):
//   t = (float)acc + bias;  v = rintf(t * eff) + y_zero;  in_range = -128 <= v <= 127;
//   y = v < -128 ? -128 : v > 127 ? 127 : (int8_t)(int32_t)v
// `t` is passed in (callers form it with _mm256_cvtepi32_ps + _mm256_add_ps, the same IEEE operations as
// the scalar conversion and addition). _mm256_round_ps(nearest) is rintf in the default rounding mode.
// Clamping: c = min(127, max(-128, v)) with the operands ordered so that a NaN v stays NaN (maxps/minps
// return their second operand when one is NaN); the int8 is the low byte of the truncating conversion of
// c, as the scalar cast on x86 (a NaN gives 0x80000000, so 0). in_range is v == c (false for NaN).
// Returns the 8 int8 results in the low 8 bytes; *in_range gets one bit per output.
TTE_AVX2 inline __m128i Requant8(__m256 t, __m256 eff, __m256 yz, bool exclude_127, uint32_t* in_range) {
  const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
  const __m256 v = _mm256_add_ps(_mm256_round_ps(_mm256_mul_ps(t, eff), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), yz);
  const __m256 c = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
  __m256 ok = _mm256_cmp_ps(v, c, _CMP_EQ_OQ);
  if (exclude_127) ok = _mm256_and_ps(ok, _mm256_cmp_ps(v, hi, _CMP_LT_OQ));  // fault test only
  *in_range = static_cast<uint32_t>(_mm256_movemask_ps(ok));
  const __m256i r = _mm256_and_si256(_mm256_cvttps_epi32(c), _mm256_set1_epi32(0xff));
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  return _mm_packus_epi16(w16, w16);
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
