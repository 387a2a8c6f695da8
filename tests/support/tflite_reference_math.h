// TFLite's integer requantization written out in plain C++ for the tests' independent evaluators (the golden
// evaluator of imported graphs and the gradient simulation): QuantizeMultiplier, SaturatingRoundingDoubling-
// HighMul, RoundingDivideByPOT and MultiplyByQuantizedMultiplier, from ../shared/tflite/reference/ARITHMETIC.md.
// Deliberately not tte's kernels: the tests compare those against this.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

namespace tte::testing::tflite_math {

inline void QuantizeMultiplier(double m, int32_t* q, int* shift) {
  if (m == 0) {
    *q = 0, *shift = 0;
    return;
  }
  const double f = std::frexp(m, shift);
  int64_t qf = static_cast<int64_t>(std::round(f * 2147483648.0));
  if (qf == (int64_t{1} << 31)) qf /= 2, ++*shift;
  if (*shift < -31) *shift = 0, qf = 0;
  *q = static_cast<int32_t>(qf);
}

inline int32_t Srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t p = static_cast<int64_t>(a) * b;
  const int64_t nudge = p >= 0 ? (int64_t{1} << 30) : 1 - (int64_t{1} << 30);
  return static_cast<int32_t>((p + nudge) / (int64_t{1} << 31));
}

inline int32_t RoundingDivideByPot(int32_t x, int e) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << e) - 1);
  const int32_t rem = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

inline int32_t Mbqm(int32_t x, int32_t m, int shift) {
  const int left = std::max(shift, 0), right = std::max(-shift, 0);
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return RoundingDivideByPot(Srdhm(shifted, m), right);
}

}  // namespace tte::testing::tflite_math
