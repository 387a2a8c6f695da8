// Random conv test cases for the kernel tests: a ConvSpec (geometry, zero points, split weights, bias
// kind) and a ConvCase that owns every buffer and a tte_conv_params pointing into them. Also the
// replayable seeds of the kernel tests (TestSeed) and bit-exact comparison helpers.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/tte_kernels.h"

namespace tte::testing {

// Seed of a randomized test: --gtest_random_seed=N or TTE_TEST_SEED=N if given, else a fixed default
// (so CI runs are deterministic). Every failure message prints it.
uint32_t TestSeed();
// How many random cases a sweep runs: `base`, times TTE_TEST_ITERS_SCALE if set (longer fuzzing runs).
int TestIterations(int base);
// "re-run with --gtest_filter=<this test> --gtest_random_seed=N" for failure messages.
std::string ReplayHint(uint32_t seed);

enum class BiasKind { kI32, kI32Saturated, kF32 };

struct ConvSpec {
  int32_t cin = 1, cout = 1, k = 1, stride = 1, pad = 0, groups = 1, h = 1, w = 1;
  int32_t x_zero = 0, y_zero = 0;
  bool split = false;   // weights split by a random slot map (groups == 1 or depthwise only)
  BiasKind bias = BiasKind::kI32;
  // Values: full int8 ranges by default; `small` keeps |x - x_zero| <= 2 and |w| <= 2 (adjoint tests
  // need unclamped outputs) and uses eff = 1, zero biases and y_zero = 0.
  bool small = false;
  // Split weights: frozen rows are all zero (adjoint test of the trainable slice).
  bool zero_frozen = false;

  bool depthwise() const { return groups == cin && cin == cout && groups > 1; }
  int32_t out_h() const { return tte_conv_out_size(h, k, stride, pad); }
  int32_t out_w() const { return tte_conv_out_size(w, k, stride, pad); }
  int32_t selection_channels() const { return depthwise() ? cout : cin; }
  std::string ToString() const;
};

// Random specs of the conv kinds the host fast paths cover (and the portable spec tests use).
ConvSpec RandomPointwise(std::mt19937& rng);
ConvSpec RandomDepthwise(std::mt19937& rng);
ConvSpec RandomDense(std::mt19937& rng);    // groups == 1, k in {2, 3, 5}, small cin (like the first conv)
ConvSpec RandomGrouped(std::mt19937& rng);  // 1 < groups < cin (portable kernels only)

class ConvCase {
 public:
  ConvCase(const ConvSpec& spec, std::mt19937& rng);
  ConvCase(const ConvCase&) = delete;
  ConvCase& operator=(const ConvCase&) = delete;

  const ConvSpec& spec() const { return spec_; }
  tte_conv_params params;  // whole tensors; points into the buffers below
  std::vector<int8_t> x;   // [cin][h][w]
  // The logical weight W(o, i_in_group, kh, kw), read through tte_weight_row.
  int8_t Weight(int32_t o, int32_t ii, int32_t kh, int32_t kw) const;
  // Trainable rows in row order: train_sel[j] is the selection channel whose train row is j.
  std::vector<uint16_t> train_sel;
  std::vector<int8_t> frozen, train;

  size_t in_elems() const { return static_cast<size_t>(spec_.cin) * spec_.h * spec_.w; }
  size_t out_elems() const { return static_cast<size_t>(spec_.cout) * spec_.out_h() * spec_.out_w(); }

 private:
  ConvSpec spec_;
  std::vector<uint16_t> slot_;
  std::vector<int32_t> bias_i32_;
  std::vector<float> bias_f32_, eff_;
};

// Random fp32 values of varied magnitudes (never integers, so that rounding differences show), a
// fraction of them exactly zero.
void FillGradient(std::mt19937& rng, std::vector<float>* v);

// Index of the first element whose bits differ, or -1.
int64_t FirstBitDifference(const void* a, const void* b, size_t elem_bytes, size_t count);

}  // namespace tte::testing
