// Host fast path: pointwise (1x1, stride 1, groups 1) int8 conv forward, whole tensors, plain or split
// weights (tte_weights::slot), with the clamp mask. Bit-identical to conv_fwd.c conv_pointwise().
//
// acc[o][p] = sum_i (x[i][p] - x_zero) * w[o][i] is an exact int32 sum, so any order gives the same
// value. The input is re-laid out per call in scratch as int16 channel pairs X2[i/2][p] =
// (x[2j][p] - x_zero, x[2j+1][p] - x_zero) (an odd last channel pairs with 0), and the weights as int32
// pairs per output (re-packed every call: trainable weights change every step, and packing is
// O(cout*cin), cheap next to the O(hw*cout*cin) multiply-adds). _mm256_madd_epi16 of a pixel vector with
// a broadcast weight pair gives 8 exact pair sums; a 4-output x 3-vector tile accumulates them.
// Requantization uses the portable operations of either mode (avx2_util.h Requant8 / RequantTflite8).
// Exactness bounds (checked in PointwiseFwdApplies): |x - x_zero| <= 32767 (int16), and
// cin * max|x - x_zero| * 128 < 2^31 (no int32 overflow, as the portable kernel).
#include <cstring>

#include "kernels/host/avx2_util.h"
#include "kernels/host/host_internal.h"

namespace tte::host::internal {
namespace {

constexpr int kMr = 4;  // output channels per tile

struct PwLayout {
  size_t cp, hwp, coutp;  // channel pairs, pixels padded to 8, outputs padded to kMr
};

PwLayout Layout(const tte_conv_params& p) {
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  return {static_cast<size_t>(p.cin + 1) / 2, RoundUp(hw, 8), RoundUp(static_cast<size_t>(p.cout), kMr)};
}

size_t Carve(const tte_conv_params& p, uint8_t* base, int32_t** x2, int16_t** wp) {
  const PwLayout l = Layout(p);
  Carver c(base);
  *x2 = c.Take<int32_t>(l.cp * l.hwp);
  *wp = c.Take<int16_t>(l.coutp * 2 * l.cp);
  return c.bytes();
}

inline int32_t Pair(int32_t lo, int32_t hi) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                              (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}

}  // namespace

bool PointwiseFwdApplies(const tte_conv_params& p) {
  if (!IsWhole(p) || !IsPointwise(p) || p.cin < 1 || p.cout < 1) return false;
  const int64_t m = MaxAbsShifted(p.x_zero);
  return m <= 32767 && static_cast<int64_t>(p.cin) * m * 128 < (int64_t{1} << 31);
}

size_t PointwiseFwdScratchBytes(const tte_conv_params& p) {
  if (!PointwiseFwdApplies(p)) return 0;
  int32_t* x2;
  int16_t* wp;
  return Carve(p, nullptr, &x2, &wp);
}

#if TTE_HOST_X86
namespace {

// X2[j][p] for every channel pair j, pixels padded with zeros up to hwp.
TTE_AVX2 void PackInput(const tte_conv_params& p, const int8_t* x, int32_t* x2, const PwLayout& l) {
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(p.x_zero));
  for (size_t j = 0; j < l.cp; ++j) {
    const int8_t* a = x + 2 * j * hw;
    const bool has_b = static_cast<int32_t>(2 * j + 1) < p.cin;
    const int8_t* b = has_b ? a + hw : nullptr;
    int32_t* dst = x2 + j * l.hwp;
    size_t q = 0;
    for (; q + 16 <= hw; q += 16) {
      const __m256i va =
          _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + q))), z);
      const __m256i vb =
          has_b ? _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + q))), z)
                : _mm256_setzero_si256();
      const __m256i lo = _mm256_unpacklo_epi16(va, vb), hi = _mm256_unpackhi_epi16(va, vb);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + q), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + q + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    for (; q < hw; ++q) dst[q] = Pair(a[q] - p.x_zero, has_b ? b[q] - p.x_zero : 0);
    for (; q < l.hwp; ++q) dst[q] = 0;
  }
}

// Wp[o][i] = w[o][i] as int16, rows padded to 2*cp (an odd last channel pairs with 0) and to coutp rows
// of zeros: as int32, Wp[o][j] is the pair (w[o][2j], w[o][2j+1]).
TTE_AVX2 void PackWeights(const tte_conv_params& p, int16_t* wp, const PwLayout& l) {
  const size_t cin = static_cast<size_t>(p.cin), row = 2 * l.cp;
  for (size_t o = 0; o < static_cast<size_t>(p.cout); ++o) {
    int16_t* dst = wp + o * row;
    if (!p.w.slot) {  // plain [cout][cin]: sign-extend the row
      const int8_t* src = p.w.frozen + o * cin;
      size_t i = 0;
      for (; i + 16 <= cin; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
      for (; i < cin; ++i) dst[i] = src[i];
    } else {  // split: row of input channel i in the frozen or the trainable part
      const int8_t* fr = p.w.frozen + o * static_cast<size_t>(p.w.n_frozen);
      const int8_t* tr = p.w.train + o * static_cast<size_t>(p.w.n_train);
      for (size_t i = 0; i < cin; ++i) {
        const uint16_t sl = p.w.slot[i];
        dst[i] = ((sl & TTE_SLOT_TRAIN) ? tr : fr)[sl & TTE_SLOT_INDEX];
      }
    }
    if (cin < row) dst[cin] = 0;
  }
  for (size_t o = static_cast<size_t>(p.cout); o < l.coutp; ++o)
    for (size_t i = 0; i < row; ++i) wp[o * row + i] = 0;
}

inline int32_t LoadPair(const int16_t* w) {
  int32_t v;
  std::memcpy(&v, w, sizeof v);
  return v;
}

// acc[m][r] = sum_j madd(X2[j][p0 + 8r ..], pair j of Wp[o0 + m]) for kMr outputs x NR pixel vectors.
template <int NR>
TTE_AVX2 inline void Tile(const int32_t* xb, size_t hwp, const int16_t* wb, size_t cp, __m256i (&acc)[kMr][NR]) {
  for (int m = 0; m < kMr; ++m)
    for (int r = 0; r < NR; ++r) acc[m][r] = _mm256_setzero_si256();
  const size_t row = 2 * cp;
  for (size_t j = 0; j < cp; ++j) {
    __m256i xv[NR];
    for (int r = 0; r < NR; ++r) xv[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(xb + j * hwp + 8 * r));
    for (int m = 0; m < kMr; ++m) {
      const __m256i w = _mm256_set1_epi32(LoadPair(wb + m * row + 2 * j));
      for (int r = 0; r < NR; ++r) acc[m][r] = _mm256_add_epi32(acc[m][r], _mm256_madd_epi16(xv[r], w));
    }
  }
}

template <int NR, bool kTflite>
TTE_AVX2 void Block(const tte_conv_params& p, const PwLayout& l, const int32_t* x2, const int16_t* wp, size_t p0,
                    int8_t* y, uint8_t* mask, Fault fault) {
  const size_t hw = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w);
  const __m256 yz = _mm256_set1_ps(static_cast<float>(p.y_zero));
  const __m256 lo = _mm256_set1_ps(static_cast<float>(p.act_min)), hi = _mm256_set1_ps(static_cast<float>(p.act_max));
  constexpr bool tflite = kTflite;
  const bool int_bias = fault == Fault::kIntegerBiasAdd && p.bias_i32;
  const bool excl = fault == Fault::kMaskExcludes127;
  for (size_t ob = 0; ob < l.coutp / kMr; ++ob) {
    __m256i acc[kMr][NR];
    Tile<NR>(x2 + p0, l.hwp, wp + ob * kMr * 2 * l.cp, l.cp, acc);
    for (int m = 0; m < kMr; ++m) {
      const int32_t o = static_cast<int32_t>(ob * kMr + m);
      if (o >= p.cout) break;
      const __m256 bias = tflite ? _mm256_setzero_ps() : _mm256_set1_ps(BiasOf(p, o));
      const __m256 eff = tflite ? _mm256_setzero_ps() : _mm256_set1_ps(p.eff[o]);
      for (int r = 0; r < NR; ++r) {
        const size_t q = p0 + 8 * r;
        const int count = hw - q < 8 ? static_cast<int>(hw - q) : 8;
        uint32_t in_range;
        __m128i v;
        if constexpr (tflite) {
          v = RequantTflite8(acc[m][r], p.bias_i32 ? p.bias_i32[o] : 0, p.mult[o], p.shift[o], p.y_zero, p.act_min,
                             p.act_max, &in_range);
        } else {
          __m256 t;
          if (int_bias)
            t = _mm256_cvtepi32_ps(_mm256_add_epi32(acc[m][r], _mm256_set1_epi32(p.bias_i32[o])));
          else
            t = _mm256_add_ps(_mm256_cvtepi32_ps(acc[m][r]), bias);
          v = Requant8(t, eff, yz, lo, hi, excl, &in_range);
        }
        const size_t n = static_cast<size_t>(o) * hw + q;
        StoreBytes(y + n, v, count);
        if (mask) WriteMaskBits(mask, n, in_range, count);
      }
    }
  }
}

template <bool kTflite>
TTE_AVX2 void Blocks(const tte_conv_params& p, const PwLayout& l, const int32_t* x2, const int16_t* wp, size_t nv,
                     int8_t* y, uint8_t* mask, Fault fault) {
  size_t v = 0;
  for (; v + 3 <= nv; v += 3) Block<3, kTflite>(p, l, x2, wp, v * 8, y, mask, fault);
  if (nv - v == 2) Block<2, kTflite>(p, l, x2, wp, v * 8, y, mask, fault);
  if (nv - v == 1) Block<1, kTflite>(p, l, x2, wp, v * 8, y, mask, fault);
}

}  // namespace

TTE_AVX2 void PointwiseFwdAvx2(const tte_conv_params& p, const int8_t* x, int8_t* y, uint8_t* mask,
                               uint8_t* scratch) {
  const PwLayout l = Layout(p);
  int32_t* x2;
  int16_t* wp;
  Carve(p, scratch, &x2, &wp);
  PackInput(p, x, x2, l);
  PackWeights(p, wp, l);
  const Fault fault = CurrentFault();
  const size_t nv = l.hwp / 8;
  if (p.requant == TTE_REQUANT_TFLITE)
    Blocks<true>(p, l, x2, wp, nv, y, mask, fault);
  else
    Blocks<false>(p, l, x2, wp, nv, y, mask, fault);
}
#endif  // TTE_HOST_X86

}  // namespace tte::host::internal
