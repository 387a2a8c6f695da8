// SplitMix64: a tiny, portable pseudo-random generator (same sequence on every platform and standard
// library). Used wherever tte needs reproducible randomness: head initialisation, planner search orders,
// random channel selection.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tte {

struct SplitMix64 {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
  // Uniform float in [lo, hi) from 24 random bits.
  float Uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(static_cast<double>(Next() >> 40) * (1.0 / 16777216.0));
  }
};

}  // namespace tte
