// Random conv test cases (see conv_case.h).
#include "kernels/conv_case.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace tte::testing {
namespace {

int32_t Uniform(std::mt19937& rng, int32_t lo, int32_t hi) {
  return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }
int32_t Side(std::mt19937& rng) { return Chance(rng, 0.2) ? Uniform(rng, 14, 40) : Uniform(rng, 1, 13); }

void RandomZeros(std::mt19937& rng, ConvSpec* s) {
  s->x_zero = Chance(rng, 0.3) ? -128 : Uniform(rng, -128, 127);
  s->y_zero = Uniform(rng, -128, 127);
  s->bias = static_cast<BiasKind>(Uniform(rng, 0, 2));
}

}  // namespace

uint32_t TestSeed() {
  if (const char* env = std::getenv("TTE_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  const int32_t flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? static_cast<uint32_t>(flag) : 20240601u;
}

int TestIterations(int base) {
  if (const char* env = std::getenv("TTE_TEST_ITERS_SCALE")) return base * std::max(1, std::atoi(env));
  return base;
}

std::string ReplayHint(uint32_t seed) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::ostringstream os;
  os << "to replay: --gtest_filter=" << (info ? std::string(info->test_suite_name()) + "." + info->name() : "*")
     << " --gtest_random_seed=" << seed << " (or TTE_TEST_SEED=" << seed << ")";
  return os.str();
}

std::string ConvSpec::ToString() const {
  std::ostringstream os;
  os << "cin=" << cin << " cout=" << cout << " k=" << k << " stride=" << stride << " pad=" << pad
     << " groups=" << groups << " in=" << h << "x" << w << " x_zero=" << x_zero << " y_zero=" << y_zero
     << " split=" << split << " bias=" << (bias == BiasKind::kI32 ? "i32" : bias == BiasKind::kF32 ? "f32" : "i32-saturated")
     << (small ? " small" : "") << (zero_frozen ? " zero_frozen" : "");
  return os.str();
}

ConvSpec RandomPointwise(std::mt19937& rng) {
  ConvSpec s;
  s.cin = Chance(rng, 0.2) ? Uniform(rng, 40, 100) : Uniform(rng, 1, 40);
  s.cout = Uniform(rng, 1, 21);
  s.h = Side(rng);
  s.w = Side(rng);
  s.split = Chance(rng, 0.5);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomDepthwise(std::mt19937& rng) {
  ConvSpec s;
  s.cin = s.cout = s.groups = Uniform(rng, 2, 20);
  static const int32_t kSizes[] = {1, 2, 3, 3, 3, 4, 5, 5, 7, 7};
  s.k = kSizes[Uniform(rng, 0, 9)];
  s.stride = Uniform(rng, 1, 2);
  s.pad = Chance(rng, 0.7) ? s.k / 2 : Uniform(rng, 0, s.k - 1);
  const int32_t min_side = std::max(1, s.k - 2 * s.pad);
  s.h = std::max(min_side, Side(rng));
  s.w = std::max(min_side, Side(rng));
  s.split = Chance(rng, 0.5);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomDense(std::mt19937& rng) {
  ConvSpec s;
  s.cin = Uniform(rng, 1, 5);
  s.cout = Uniform(rng, 1, 12);
  static const int32_t kSizes[] = {2, 3, 3, 5};
  s.k = kSizes[Uniform(rng, 0, 3)];
  s.stride = Uniform(rng, 1, 2);
  s.pad = Chance(rng, 0.7) ? s.k / 2 : Uniform(rng, 0, s.k - 1);
  const int32_t min_side = std::max(1, s.k - 2 * s.pad);
  s.h = std::max(min_side, Side(rng));
  s.w = std::max(min_side, Side(rng));
  s.split = Chance(rng, 0.3);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomGrouped(std::mt19937& rng) {
  ConvSpec s;
  s.groups = Uniform(rng, 2, 3);
  s.cin = s.groups * Uniform(rng, 2, 4);
  s.cout = s.groups * Uniform(rng, 1, 3);
  s.k = Chance(rng, 0.5) ? 1 : 3;
  s.stride = Uniform(rng, 1, 2);
  s.pad = s.k / 2;
  s.h = Uniform(rng, 1, 9);
  s.w = Uniform(rng, 1, 9);
  RandomZeros(rng, &s);
  return s;
}

ConvCase::ConvCase(const ConvSpec& spec, std::mt19937& rng) : spec_(spec) {
  const ConvSpec& s = spec_;
  const int32_t kk = s.k * s.k, ipg = s.cin / s.groups;
  std::uniform_int_distribution<int32_t> byte(-128, 127);
  x.resize(in_elems());
  for (int8_t& v : x)
    v = static_cast<int8_t>(s.small ? std::clamp(s.x_zero + Uniform(rng, -2, 2), -128, 127) : byte(rng));
  auto weight = [&]() { return static_cast<int8_t>(s.small ? Uniform(rng, -2, 2) : byte(rng)); };

  params = tte_conv_params{};
  params.cin = s.cin;
  params.cout = s.cout;
  params.k = s.k;
  params.stride = s.stride;
  params.pad = s.pad;
  params.groups = s.groups;
  tte_conv_whole(&params, s.h, s.w);
  params.x_zero = s.x_zero;
  params.y_zero = s.small ? 0 : s.y_zero;

  // Weights: plain OIHW, or split by a random slot map with randomly ordered rows.
  const bool can_split = s.groups == 1 || s.depthwise();
  if (s.split && can_split) {
    const int32_t S = s.selection_channels();
    std::vector<int32_t> trainable, frozen_ch;
    for (int32_t c = 0; c < S; ++c) (Chance(rng, 0.5) ? trainable : frozen_ch).push_back(c);
    std::shuffle(trainable.begin(), trainable.end(), rng);
    std::shuffle(frozen_ch.begin(), frozen_ch.end(), rng);
    slot_.assign(static_cast<size_t>(S), 0);
    for (size_t j = 0; j < trainable.size(); ++j) slot_[trainable[j]] = static_cast<uint16_t>(TTE_SLOT_TRAIN | j);
    for (size_t j = 0; j < frozen_ch.size(); ++j) slot_[frozen_ch[j]] = static_cast<uint16_t>(j);
    for (int32_t c : trainable) train_sel.push_back(static_cast<uint16_t>(c));
    const size_t rows_per = s.depthwise() ? 1 : static_cast<size_t>(s.cout);
    frozen.resize(rows_per * frozen_ch.size() * kk);
    train.resize(rows_per * trainable.size() * kk);
    for (int8_t& v : frozen) v = s.zero_frozen ? 0 : weight();
    for (int8_t& v : train) v = weight();
    params.w.n_frozen = static_cast<int32_t>(frozen_ch.size());
    params.w.n_train = static_cast<int32_t>(trainable.size());
    params.w.slot = slot_.data();
  } else {
    frozen.resize(static_cast<size_t>(s.cout) * ipg * kk);
    for (int8_t& v : frozen) v = weight();
    params.w.n_frozen = ipg;
  }
  params.w.frozen = frozen.data();
  params.w.train = train.empty() ? nullptr : train.data();

  // Effective scales: outputs spread over the int8 range and partly clamped; some powers of two so that
  // rint() meets exact ties and v meets exactly -128 / 127.
  const int32_t taps = s.depthwise() ? kk : kk * ipg;
  const double base = 60.0 / (std::sqrt(static_cast<double>(taps)) * 74.0 * 74.0);
  const double acc_std = std::sqrt(static_cast<double>(taps)) * 74.0 * 74.0;
  eff_.resize(static_cast<size_t>(s.cout));
  bias_i32_.resize(static_cast<size_t>(s.cout));
  bias_f32_.resize(static_cast<size_t>(s.cout));
  for (int32_t o = 0; o < s.cout; ++o) {
    double e = base * std::exp2(std::uniform_real_distribution<double>(-2.0, 2.0)(rng));
    if (Chance(rng, 0.3)) e = std::exp2(std::round(std::log2(e)));
    if (Chance(rng, 0.05)) e = 1.0;
    double b = std::uniform_real_distribution<double>(-3.0, 3.0)(rng) * acc_std;
    if (s.bias == BiasKind::kI32Saturated && Chance(rng, 0.4)) {
      // The model's dead channels: a saturated int32 bias with a tiny scale keeps outputs in range,
      // so the rounding of (float)acc + (float)bias shows.
      b = Chance(rng, 0.5) ? static_cast<double>(INT32_MIN) : static_cast<double>(INT32_MAX);
      e = std::uniform_real_distribution<double>(-1.0, 1.0)(rng) * 100.0 / 2147483648.0;
    }
    if (s.small) {
      e = 1.0;
      b = 0.0;
    }
    eff_[o] = static_cast<float>(e);
    bias_i32_[o] = static_cast<int32_t>(std::clamp(std::round(b), static_cast<double>(INT32_MIN), static_cast<double>(INT32_MAX)));
    bias_f32_[o] = static_cast<float>(b + (s.small ? 0.0 : std::uniform_real_distribution<double>(0.0, 1.0)(rng)));
  }
  params.eff = eff_.data();
  if (s.bias == BiasKind::kF32)
    params.bias_f32 = bias_f32_.data();
  else
    params.bias_i32 = bias_i32_.data();
}

int8_t ConvCase::Weight(int32_t o, int32_t ii, int32_t kh, int32_t kw) const {
  const int32_t ipg = spec_.cin / spec_.groups, opg = spec_.cout / spec_.groups;
  const int32_t i_abs = (o / opg) * ipg + ii;
  return tte_weight_row(&params.w, o, ii, i_abs, spec_.k * spec_.k, spec_.depthwise(), ipg)[kh * spec_.k + kw];
}

void FillGradient(std::mt19937& rng, std::vector<float>* v) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> expo(-6.0f, 6.0f);
  std::bernoulli_distribution zero(0.05);
  for (float& f : *v) f = zero(rng) ? 0.0f : normal(rng) * std::exp2(expo(rng));
}

int64_t FirstBitDifference(const void* a, const void* b, size_t elem_bytes, size_t count) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < count; ++i)
    if (std::memcmp(pa + i * elem_bytes, pb + i * elem_bytes, elem_bytes) != 0) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace tte::testing
