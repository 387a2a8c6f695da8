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
  os << "cin=" << cin << " cout=" << cout << " groups=" << groups << (dwise ? " depthwise" : "") << " k=" << kh
     << "x" << kw << " stride=" << sh << "x" << sw << " dilation=" << dh << "x" << dw << " pad(t,b,l,r)=" << pad_t
     << "," << pad_b << "," << pad_l << "," << pad_r << " in=" << h << "x" << w << " x_zero=" << x_zero
     << " y_zero=" << y_zero << " act=[" << act_min << "," << act_max << "]"
     << " requant=" << (requant == TTE_REQUANT_TFLITE ? "tflite" : "fp32") << " split=" << split
     << " bias=" << (bias == BiasKind::kI32 ? "i32" : bias == BiasKind::kF32 ? "f32" : "i32-saturated")
     << (null_bias ? " null_bias" : "") << (small ? " small" : "") << (zero_frozen ? " zero_frozen" : "");
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
  s.dwise = true;
  static const int32_t kSizes[] = {1, 2, 3, 3, 3, 4, 5, 5, 7, 7};
  const int32_t k = kSizes[Uniform(rng, 0, 9)];
  s.Square(k, Uniform(rng, 1, 2), Chance(rng, 0.7) ? k / 2 : Uniform(rng, 0, k - 1));
  const int32_t min_side = std::max(1, k - 2 * s.pad_t);
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
  const int32_t k = kSizes[Uniform(rng, 0, 3)];
  s.Square(k, Uniform(rng, 1, 2), Chance(rng, 0.7) ? k / 2 : Uniform(rng, 0, k - 1));
  const int32_t min_side = std::max(1, k - 2 * s.pad_t);
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
  const int32_t k = Chance(rng, 0.5) ? 1 : 3;
  s.Square(k, Uniform(rng, 1, 2), k / 2);
  s.h = Uniform(rng, 1, 9);
  s.w = Uniform(rng, 1, 9);
  RandomZeros(rng, &s);
  return s;
}

namespace {

// Random per-axis geometry (kernel up to kmax_h x kmax_w, strides up to smax, dilation up to dmax, pads up
// to a kernel extent on each side, asymmetric) and an input at least as large as the dilated kernel minus
// the pads (so that the output is not empty).
void RandomGeometry(std::mt19937& rng, ConvSpec* s, int32_t kmax_h, int32_t kmax_w, int32_t smax, int32_t dmax) {
  s->kh = Uniform(rng, 1, kmax_h);
  s->kw = Uniform(rng, 1, kmax_w);
  s->sh = Uniform(rng, 1, smax);
  s->sw = Chance(rng, 0.6) ? s->sh : Uniform(rng, 1, smax);
  s->dh = Chance(rng, 0.7) ? 1 : Uniform(rng, 1, dmax);
  s->dw = Chance(rng, 0.7) ? 1 : Uniform(rng, 1, dmax);
  const int32_t eh = (s->kh - 1) * s->dh + 1, ew = (s->kw - 1) * s->dw + 1;
  auto pads = [&](int32_t ext, int32_t* a, int32_t* b) {
    if (Chance(rng, 0.4)) {  // TFLite SAME: total = ext - 1 (stride 1), the odd pixel after
      *a = (ext - 1) / 2;
      *b = ext - 1 - *a;
    } else if (Chance(rng, 0.3)) {  // VALID
      *a = *b = 0;
    } else {
      *a = Uniform(rng, 0, ext - 1);
      *b = Uniform(rng, 0, ext);
    }
  };
  pads(eh, &s->pad_t, &s->pad_b);
  pads(ew, &s->pad_l, &s->pad_r);
  s->h = std::max(std::max(1, eh - s->pad_t - s->pad_b), Side(rng));
  s->w = std::max(std::max(1, ew - s->pad_l - s->pad_r), Side(rng));
  if (Chance(rng, 0.2)) s->h = std::max(1, eh - s->pad_t - s->pad_b);  // a single output row
}

}  // namespace

ConvSpec RandomGeneralDepthwise(std::mt19937& rng) {
  ConvSpec s;
  s.cin = s.groups = Uniform(rng, 1, 12);
  s.cout = s.cin * (Chance(rng, 0.6) ? 1 : Uniform(rng, 2, 3));
  s.dwise = true;
  RandomGeometry(rng, &s, 5, 5, 3, 3);
  s.split = Chance(rng, 0.4);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomGeneralDense(std::mt19937& rng) {
  ConvSpec s;
  s.cin = Uniform(rng, 1, 5);
  s.cout = Uniform(rng, 1, 10);
  RandomGeometry(rng, &s, Chance(rng, 0.3) ? 10 : 5, 5, 3, 3);
  if (s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && Chance(rng, 0.5)) s.sh = s.sw = 2;  // 1x1 stride 2
  s.split = Chance(rng, 0.3);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomGeneralGrouped(std::mt19937& rng) {
  ConvSpec s;
  s.groups = Uniform(rng, 2, 3);
  s.cin = s.groups * Uniform(rng, 2, 3);
  s.cout = s.groups * Uniform(rng, 1, 3);
  RandomGeometry(rng, &s, 3, 3, 2, 2);
  s.h = std::min(s.h, 12);
  s.w = std::min(s.w, 12);
  s.h = std::max(s.h, std::max(1, (s.kh - 1) * s.dh + 1 - s.pad_t - s.pad_b));
  s.w = std::max(s.w, std::max(1, (s.kw - 1) * s.dw + 1 - s.pad_l - s.pad_r));
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomGeneralPointwise(std::mt19937& rng) {
  ConvSpec s;
  s.cin = Uniform(rng, 1, 24);
  s.cout = Uniform(rng, 1, 12);
  s.sh = Uniform(rng, 1, 3);
  s.sw = Uniform(rng, 1, 3);
  s.pad_t = Uniform(rng, 0, 1);
  s.pad_b = Uniform(rng, 0, 1);
  s.pad_l = Uniform(rng, 0, 1);
  s.pad_r = Uniform(rng, 0, 1);
  s.h = Side(rng);
  s.w = Side(rng);
  s.split = Chance(rng, 0.4);
  RandomZeros(rng, &s);
  return s;
}

ConvSpec RandomGeneral(std::mt19937& rng) {
  switch (Uniform(rng, 0, 4)) {
    case 0: return RandomGeneralDepthwise(rng);
    case 1: return RandomGeneralGrouped(rng);
    case 2: return RandomGeneralPointwise(rng);
    default: return RandomGeneralDense(rng);
  }
}

void RandomizeArithmetic(std::mt19937& rng, ConvSpec* s) {
  s->requant = Chance(rng, 0.5) ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32;
  if (Chance(rng, 0.5)) {
    s->act_min = Chance(rng, 0.3) ? -128 : Uniform(rng, -128, 60);
    s->act_max = Chance(rng, 0.3) ? 127 : Uniform(rng, s->act_min, 127);
  }
  if (s->requant == TTE_REQUANT_TFLITE) s->null_bias = Chance(rng, 0.2);
}

ConvCase::ConvCase(const ConvSpec& spec, std::mt19937& rng) : spec_(spec) {
  const ConvSpec& s = spec_;
  const int32_t kk = s.kk(), ipg = s.cin / s.groups;
  const bool tflite = s.requant == TTE_REQUANT_TFLITE;
  std::uniform_int_distribution<int32_t> byte(-128, 127);
  x.resize(in_elems());
  for (int8_t& v : x)
    v = static_cast<int8_t>(s.small ? std::clamp(s.x_zero + Uniform(rng, -2, 2), -128, 127) : byte(rng));
  auto weight = [&]() { return static_cast<int8_t>(s.small ? Uniform(rng, -2, 2) : byte(rng)); };

  params = tte_conv_params{};
  params.cin = s.cin;
  params.cout = s.cout;
  params.groups = s.groups;
  params.depthwise = s.dwise ? 1 : 0;
  params.kh = s.kh;
  params.kw = s.kw;
  params.sh = s.sh;
  params.sw = s.sw;
  params.dh = s.dh;
  params.dw = s.dw;
  params.pad_t = s.pad_t;
  params.pad_b = s.pad_b;
  params.pad_l = s.pad_l;
  params.pad_r = s.pad_r;
  tte_conv_whole(&params, s.h, s.w);
  params.x_zero = s.x_zero;
  params.y_zero = s.small ? 0 : s.y_zero;
  params.act_min = s.small ? -128 : s.act_min;
  params.act_max = s.small ? 127 : s.act_max;
  params.requant = s.requant;

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
  // rint() / the rounding shift meet exact ties and v meets exactly the clamp bounds.
  const int32_t taps = s.depthwise() ? kk : kk * ipg;
  const double base = 60.0 / (std::sqrt(static_cast<double>(taps)) * 74.0 * 74.0);
  const double acc_std = std::sqrt(static_cast<double>(taps)) * 74.0 * 74.0;
  eff_.resize(static_cast<size_t>(s.cout));
  bias_i32_.resize(static_cast<size_t>(s.cout));
  bias_f32_.resize(static_cast<size_t>(s.cout));
  mult_.resize(static_cast<size_t>(s.cout));
  shift_.resize(static_cast<size_t>(s.cout));
  for (int32_t o = 0; o < s.cout; ++o) {
    double e = base * std::exp2(std::uniform_real_distribution<double>(-2.0, 2.0)(rng));
    if (Chance(rng, 0.3)) e = std::exp2(std::round(std::log2(e)));
    if (Chance(rng, 0.05)) e = 1.0;
    if (tflite && Chance(rng, 0.05)) e = std::exp2(Uniform(rng, 1, 3));  // multipliers > 1: left shifts
    double b = std::uniform_real_distribution<double>(-3.0, 3.0)(rng) * acc_std;
    if (s.bias == BiasKind::kI32Saturated && Chance(rng, 0.4)) {
      // The model's dead channels: a saturated int32 bias with a tiny scale keeps outputs in range,
      // so the rounding of (float)acc + (float)bias shows (TFLITE: the int32 sum wraps).
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
    tte_quantize_multiplier(e, &mult_[o], &shift_[o]);
  }
  params.eff = eff_.data();
  if (tflite) {
    params.mult = mult_.data();
    params.shift = shift_.data();
    params.bias_i32 = s.null_bias ? nullptr : bias_i32_.data();
  } else if (s.bias == BiasKind::kF32) {
    params.bias_f32 = bias_f32_.data();
  } else {
    params.bias_i32 = bias_i32_.data();
  }
}

int8_t ConvCase::Weight(int32_t o, int32_t ii, int32_t kh, int32_t kw) const {
  const int32_t ipg = spec_.cin / spec_.groups, opg = spec_.cout / spec_.groups;
  const int32_t i_abs = (o / opg) * ipg + ii;
  return tte_weight_row(&params.w, o, ii, i_abs, spec_.kk(), spec_.depthwise(), ipg)[kh * spec_.kw + kw];
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
