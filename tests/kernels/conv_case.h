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
  int32_t cin = 1, cout = 1, groups = 1;
  bool dwise = false;  // tte_conv_params::depthwise (groups == cin, cout = multiplier * cin)
  int32_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int32_t pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
  int32_t h = 1, w = 1;
  int32_t x_zero = 0, y_zero = 0;
  int32_t act_min = -128, act_max = 127;
  int32_t requant = TTE_REQUANT_FP32;
  bool split = false;   // weights split by a random slot map (groups == 1 or depthwise only)
  BiasKind bias = BiasKind::kI32;  // TFLITE mode: kF32 means kI32
  bool null_bias = false;          // TFLITE mode: bias_i32 == NULL
  // Values: full int8 ranges by default; `small` keeps |x - x_zero| <= 2 and |w| <= 2 (adjoint tests
  // need unclamped outputs) and uses eff = 1 (FP32; TFLITE: multiplier 2^30, shift 1), zero biases,
  // y_zero = 0 and the full int8 range.
  bool small = false;
  // Split weights: frozen rows are all zero (adjoint test of the trainable slice).
  bool zero_frozen = false;

  // k x k kernel, stride s and pad p on every side, no dilation (the .pkl models' geometry).
  void Square(int32_t k, int32_t stride, int32_t pad) {
    kh = kw = k;
    sh = sw = stride;
    dh = dw = 1;
    pad_t = pad_b = pad_l = pad_r = pad;
  }
  bool depthwise() const { return dwise; }
  int32_t multiplier() const { return dwise ? cout / cin : 1; }
  int32_t kk() const { return kh * kw; }
  int32_t out_h() const { return tte_window_out_size(h, kh, sh, dh, pad_t, pad_b); }
  int32_t out_w() const { return tte_window_out_size(w, kw, sw, dw, pad_l, pad_r); }
  int32_t selection_channels() const { return depthwise() ? cout : cin; }
  std::string ToString() const;
};

// Random specs of the conv kinds the host fast paths cover (and the portable spec tests use): the .pkl
// models' square geometry, FP32 requantization, full clamp range.
ConvSpec RandomPointwise(std::mt19937& rng);
ConvSpec RandomDepthwise(std::mt19937& rng);
ConvSpec RandomDense(std::mt19937& rng);    // groups == 1, k in {2, 3, 5}, small cin (like the first conv)
ConvSpec RandomGrouped(std::mt19937& rng);  // 1 < groups < cin (portable kernels only)
// Any geometry: rectangular kernels, per-axis strides and dilations, asymmetric pads; of one kind.
ConvSpec RandomGeneralDepthwise(std::mt19937& rng);  // channel multiplier 1..3
ConvSpec RandomGeneralDense(std::mt19937& rng);      // groups == 1, small cin, kernels up to 10 x 4
ConvSpec RandomGeneralGrouped(std::mt19937& rng);    // 1 < groups < cin
ConvSpec RandomGeneralPointwise(std::mt19937& rng);  // 1x1 with strides / padding (not the fast path)
ConvSpec RandomGeneral(std::mt19937& rng);           // one of the above
// Random activation range (often narrow, sometimes a single value) and requant mode (FP32 / TFLITE).
void RandomizeArithmetic(std::mt19937& rng, ConvSpec* s);

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
  std::vector<int32_t> bias_i32_, mult_, shift_;
  std::vector<float> bias_f32_, eff_;
};

// Random fp32 values of varied magnitudes (never integers, so that rounding differences show), a
// fraction of them exactly zero.
void FillGradient(std::mt19937& rng, std::vector<float>* v);

// Index of the first element whose bits differ, or -1.
int64_t FirstBitDifference(const void* a, const void* b, size_t elem_bytes, size_t count);

}  // namespace tte::testing
