// Host kernels (src/kernels/host) against the portable kernels: randomized sweeps over shapes, strides,
// padding, zero points, split weights, masks, accumulation, bias kinds and update modes, asserting bit
// equality (HostKernelTester), on the .pkl models' square geometry and on any geometry (rectangular kernels,
// per-axis strides, dilation, asymmetric pads, depthwise multipliers) with narrow activation ranges and the
// TFLITE requantization; the real mcunet-5fps layer geometries; fallbacks; and fault injection
// proving that the sweeps catch realistic mistakes (an FMA, a reordered sum, an integer bias add, an
// off-by-one mask, a swapped update order). Failures print the case and how to replay the seed.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include "kernels/conv_case.h"
#include "kernels/host/host_internal.h"
#include "kernels/host/host_kernels.h"
#include "kernels/host_kernel_tester.h"

namespace tte::testing {
namespace {

using CaseFn = std::function<std::string(std::mt19937& rng, std::string* what)>;

// Runs `iterations` random cases, each from its own seed; fails on the first difference.
void Sweep(int iterations, const CaseFn& fn) {
  const uint32_t seed = TestSeed();
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 1000003u + static_cast<uint32_t>(it));
    std::string what;
    const std::string err = fn(rng, &what);
    ASSERT_EQ(err, "") << "case " << it << ": " << what << "\n" << ReplayHint(seed);
  }
}

// How many of `iterations` random cases differ (fault-injection tests expect some).
int CountDifferences(int iterations, const CaseFn& fn) {
  const uint32_t seed = TestSeed();
  int differing = 0;
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 7919u + static_cast<uint32_t>(it));
    std::string what;
    if (!fn(rng, &what).empty()) ++differing;
  }
  return differing;
}

class FaultGuard {
 public:
  explicit FaultGuard(host::internal::Fault f) { host::internal::g_fault.store(static_cast<int>(f)); }
  ~FaultGuard() { host::internal::g_fault.store(0); }
};

bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

CaseFn Forward(ConvSpec (*random)(std::mt19937&), const char* impl) {
  return [=](std::mt19937& rng, std::string* what) {
    const ConvSpec s = random(rng);
    const bool mask = Chance(rng, 0.7);
    *what = s.ToString() + " mask=" + std::to_string(mask);
    return HostKernelTester().spec(s).mask(mask).expect_impl(impl).TestForward(rng);
  };
}

CaseFn BackwardInput(ConvSpec (*random)(std::mt19937&), const char* impl, bool non_finite = false) {
  return [=](std::mt19937& rng, std::string* what) {
    const ConvSpec s = random(rng);
    const bool acc = Chance(rng, 0.5);
    *what = s.ToString() + " accumulate=" + std::to_string(acc);
    return HostKernelTester().spec(s).accumulate(acc).non_finite(non_finite).expect_impl(impl).TestBackwardInput(rng);
  };
}

CaseFn WeightGrad(ConvSpec (*random)(std::mt19937&), const char* impl, UpdateMode mode, bool non_finite = false) {
  return [=](std::mt19937& rng, std::string* what) {
    const ConvSpec s = random(rng);
    *what = s.ToString() + " update=" + UpdateModeName(mode);
    return HostKernelTester().spec(s).update(mode).non_finite(non_finite).expect_impl(impl).TestWeightGrad(rng);
  };
}

constexpr UpdateMode kAllModes[] = {UpdateMode::kBuffer,         UpdateMode::kMaster,
                                    UpdateMode::kMasterMomentum, UpdateMode::kDeviceNearest,
                                    UpdateMode::kDeviceStochastic, UpdateMode::kDeviceStochasticMomentum};

// ------------------------------------------------------------------------------------------ forward

TEST(HostConvS8, PointwiseMatchesPortable) { Sweep(TestIterations(400), Forward(RandomPointwise, "pointwise_avx2")); }
TEST(HostConvS8, DepthwiseMatchesPortable) { Sweep(TestIterations(400), Forward(RandomDepthwise, "direct_avx2")); }
TEST(HostConvS8, DenseSmallConvMatchesPortable) { Sweep(TestIterations(200), Forward(RandomDense, "direct_avx2")); }
TEST(HostConvS8, DepthwiseInPlaceMatchesPortable) {
  Sweep(TestIterations(300), [](std::mt19937& rng, std::string* what) {
    const ConvSpec s = RandomDepthwise(rng);
    const bool mask = Chance(rng, 0.7);
    *what = s.ToString() + " mask=" + std::to_string(mask) + " in place";
    // In place only when the output plane is not larger than the input plane (large padding).
    const bool fits = s.out_h() * s.out_w() <= s.h * s.w;
    return HostKernelTester().spec(s).mask(mask).expect_impl(fits ? "direct_avx2" : "portable").TestForwardInPlace(rng);
  });
}
TEST(HostConvS8, GroupedConvFallsBackToPortable) { Sweep(TestIterations(50), Forward(RandomGrouped, "portable")); }

// A spec of `random` with a random activation range and requant mode.
template <ConvSpec (*kRandom)(std::mt19937&)>
ConvSpec WithArithmetic(std::mt19937& rng) {
  ConvSpec s = kRandom(rng);
  RandomizeArithmetic(rng, &s);
  return s;
}

TEST(HostConvS8, PointwiseTfliteAndRangesMatchPortable) {
  Sweep(TestIterations(300), Forward(WithArithmetic<RandomPointwise>, "pointwise_avx2"));
}
TEST(HostConvS8, GeneralDepthwiseMatchesPortable) {
  Sweep(TestIterations(400), Forward(WithArithmetic<RandomGeneralDepthwise>, "direct_avx2"));
}
TEST(HostConvS8, GeneralDenseMatchesPortable) {
  Sweep(TestIterations(300), [](std::mt19937& rng, std::string* what) {
    const ConvSpec s = WithArithmetic<RandomGeneralDense>(rng);
    const bool pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pad_t + s.pad_b + s.pad_l + s.pad_r == 0;
    *what = s.ToString();
    return HostKernelTester().spec(s).mask(Chance(rng, 0.7)).expect_impl(pointwise ? "pointwise_avx2" : "direct_avx2").TestForward(rng);
  });
}
TEST(HostConvS8, GeneralGroupedFallsBackToPortable) {
  Sweep(TestIterations(50), Forward(WithArithmetic<RandomGeneralGrouped>, "portable"));
}

// Where the kernel headers have the output buffer window (patch-based execution), the y buffer holds `out`.
template <typename P>
void OutBufIsOut(P* p) {
  if constexpr (requires { p->out_buf; }) p->out_buf = p->out;
}

TEST(HostConvS8, OutputWindowsFallBackToPortable) {
  const uint32_t seed = TestSeed();
  std::mt19937 rng(seed);
  for (int it = 0; it < 40; ++it) {
    ConvSpec s = it % 2 ? RandomDepthwise(rng) : RandomPointwise(rng);
    s.h = std::max(s.h, 4);
    ConvCase c(s, rng);
    c.params.out.y0 = 1;  // a band of rows, as patch-based execution computes
    c.params.out.h -= 1;
    if (c.params.out.h < 1) continue;
    OutBufIsOut(&c.params);  // y holds the band
    std::vector<int8_t> ref(static_cast<size_t>(s.cout) * c.params.out.h * c.params.out.w), got(ref.size());
    std::vector<uint8_t> scratch(host::ConvScratchBytes(c.params) + 64);
    EXPECT_STREQ(host::ConvImpl(c.params, scratch.size()), "portable");
    tte_conv_s8(&c.params, c.x.data(), ref.data(), nullptr);
    host::Conv(&c.params, c.x.data(), got.data(), nullptr, host::Scratch{scratch.data(), scratch.size()});
    ASSERT_EQ(ref, got) << s.ToString() << "\n" << ReplayHint(seed);
  }
}

TEST(HostConvS8, TooLittleScratchFallsBackToPortable) {
  std::mt19937 rng(TestSeed());
  ConvCase c(RandomPointwise(rng), rng);
  const size_t need = host::ConvScratchBytes(c.params);
  ASSERT_GT(need, 0u);
  if (std::string(host::HostIsa()) != "avx2") GTEST_SKIP() << "no AVX2 fast paths on this CPU";
  EXPECT_STREQ(host::ConvImpl(c.params, need), "pointwise_avx2");
  EXPECT_STREQ(host::ConvImpl(c.params, 0), "portable");
  std::vector<int8_t> ref(c.out_elems()), got(c.out_elems());
  tte_conv_s8(&c.params, c.x.data(), ref.data(), nullptr);
  host::Conv(&c.params, c.x.data(), got.data(), nullptr, host::Scratch{});
  EXPECT_EQ(ref, got);
}

// The geometries of mcunet-5fps at 128x128 (first conv, depthwise and pointwise layers): (cin, cout, k,
// stride, input side).
struct Geometry {
  int32_t cin, cout, k, stride, side;
};
const Geometry kMcunet5fps[] = {
    {3, 16, 3, 2, 128},   {16, 16, 3, 1, 64},   {32, 32, 3, 2, 64},   {48, 48, 3, 1, 32},   {48, 48, 7, 2, 32},
    {120, 120, 3, 1, 16}, {120, 120, 3, 2, 16}, {160, 160, 7, 1, 8},  {160, 160, 5, 1, 8},  {144, 144, 3, 1, 8},
    {192, 192, 3, 1, 8},  {240, 240, 7, 2, 8},  {384, 384, 5, 1, 4},  {576, 576, 3, 1, 4},  {16, 8, 1, 1, 64},
    {8, 32, 1, 1, 64},    {32, 16, 1, 1, 32},   {16, 48, 1, 1, 32},   {48, 16, 1, 1, 32},   {48, 24, 1, 1, 16},
    {24, 120, 1, 1, 16},  {120, 24, 1, 1, 16},  {120, 40, 1, 1, 8},   {40, 160, 1, 1, 8},   {160, 40, 1, 1, 8},
    {160, 48, 1, 1, 8},   {48, 144, 1, 1, 8},   {144, 48, 1, 1, 8},   {48, 192, 1, 1, 8},   {192, 48, 1, 1, 8},
    {48, 240, 1, 1, 8},   {240, 96, 1, 1, 4},   {96, 384, 1, 1, 4},   {384, 96, 1, 1, 4},   {96, 576, 1, 1, 4},
    {576, 160, 1, 1, 4}};

TEST(HostKernels, Mcunet5fpsLayerGeometriesMatchPortable) {
  const uint32_t seed = TestSeed();
  std::mt19937 rng(seed);
  for (const Geometry& g : kMcunet5fps) {
    ConvSpec s;
    s.cin = g.cin;
    s.cout = g.cout;
    s.Square(g.k, g.stride, g.k / 2);
    s.groups = (g.k > 1 && g.cin == g.cout) ? g.cin : 1;
    s.dwise = s.groups > 1;
    s.h = s.w = g.side;
    s.x_zero = -128;
    s.y_zero = std::uniform_int_distribution<int32_t>(-128, 127)(rng);
    s.split = std::bernoulli_distribution(0.5)(rng);
    s.bias = BiasKind::kI32Saturated;
    const char* fwd = g.k == 1 ? "pointwise_avx2" : "direct_avx2";
    const char* bwd = g.k == 1 ? "pointwise_avx2" : s.groups > 1 ? "depthwise_avx2" : "portable";
    const char* wg = g.k == 1 ? "pointwise_avx2" : s.groups > 1 ? "depthwise_avx2" : "portable";
    ASSERT_EQ(HostKernelTester().spec(s).mask(true).expect_impl(fwd).TestForward(rng), "") << s.ToString();
    ASSERT_EQ(HostKernelTester().spec(s).accumulate(true).expect_impl(bwd).TestBackwardInput(rng), "") << s.ToString();
    ASSERT_EQ(HostKernelTester().spec(s).update(UpdateMode::kDeviceStochastic).expect_impl(wg).TestWeightGrad(rng), "")
        << s.ToString() << "\n" << ReplayHint(seed);
  }
}

// --------------------------------------------------------------------------------- input gradients

TEST(HostConvBackwardInput, PointwiseMatchesPortable) {
  Sweep(TestIterations(300), BackwardInput(RandomPointwise, "pointwise_avx2"));
}
TEST(HostConvBackwardInput, DepthwiseMatchesPortable) {
  Sweep(TestIterations(400), BackwardInput(RandomDepthwise, "depthwise_avx2"));
}
TEST(HostConvBackwardInput, DepthwiseInPlaceMatchesPortable) {
  Sweep(TestIterations(300), [](std::mt19937& rng, std::string* what) {
    ConvSpec s = RandomDepthwise(rng);
    const bool same_size = s.sh == 1 && s.kh % 2 == 1 && s.pad_t == s.kh / 2;
    *what = s.ToString() + " in place";
    // Only stride-1 "same" convs have an in-place input gradient; the others must decline.
    return HostKernelTester().spec(s).expect_impl(same_size ? "depthwise_avx2" : "portable").TestBackwardInputInPlace(rng);
  });
}
TEST(HostConvBackwardInput, InfiniteGradientsMatchPortable) {
  Sweep(TestIterations(100), BackwardInput(RandomDepthwise, "depthwise_avx2", true));
  Sweep(TestIterations(100), BackwardInput(RandomPointwise, "pointwise_avx2", true));
}
TEST(HostConvBackwardInput, GeneralDepthwiseMatchesPortable) {
  Sweep(TestIterations(400), [](std::mt19937& rng, std::string* what) {
    const ConvSpec s = RandomGeneralDepthwise(rng);
    // The fast path's conditions (DepthwiseBwdInputApplies): multiplier 1, no dilation, strides <= 2, the
    // leading pads within the kernel.
    const bool fast = s.multiplier() == 1 && s.dh == 1 && s.dw == 1 && s.sh <= 2 && s.sw <= 2 && s.pad_t <= s.kh - 1 &&
                      s.pad_l <= s.kw - 1;
    const bool acc = Chance(rng, 0.5);
    *what = s.ToString() + " accumulate=" + std::to_string(acc);
    return HostKernelTester().spec(s).accumulate(acc).expect_impl(fast ? "depthwise_avx2" : "portable").TestBackwardInput(rng);
  });
}
TEST(HostConvBackwardInput, DenseAndGroupedFallBackToPortable) {
  Sweep(TestIterations(50), BackwardInput(RandomDense, "portable"));
  Sweep(TestIterations(50), BackwardInput(RandomGrouped, "portable"));
}

// -------------------------------------------------------------------------------- weight gradients

TEST(HostConvWeightGrad, PointwiseMatchesPortableInEveryUpdateMode) {
  for (UpdateMode m : kAllModes) Sweep(TestIterations(60), WeightGrad(RandomPointwise, "pointwise_avx2", m));
}
TEST(HostConvWeightGrad, DepthwiseMatchesPortableInEveryUpdateMode) {
  for (UpdateMode m : kAllModes) Sweep(TestIterations(60), WeightGrad(RandomDepthwise, "depthwise_avx2", m));
}
TEST(HostConvWeightGrad, GeneralDepthwiseMatchesPortableInEveryUpdateMode) {
  for (UpdateMode m : kAllModes) Sweep(TestIterations(50), WeightGrad(RandomGeneralDepthwise, "depthwise_avx2", m));
}
TEST(HostConvWeightGrad, NonFiniteGradientsMatchPortable) {
  // The depthwise fast path declines (its zero padding is exact only for finite gradients).
  Sweep(TestIterations(60), WeightGrad(RandomDepthwise, "depthwise_avx2", UpdateMode::kDeviceStochastic, true));
  Sweep(TestIterations(60), WeightGrad(RandomPointwise, "pointwise_avx2", UpdateMode::kMaster, true));
}
TEST(HostConvWeightGrad, DenseFallsBackToPortable) {
  Sweep(TestIterations(40), WeightGrad(RandomDense, "portable", UpdateMode::kDeviceStochastic));
}

// ----------------------------------------------------------------------------------------- switches

TEST(HostKernels, PortableOnlySwitchRoutesEveryCallToThePortableKernels) {
  std::mt19937 rng(TestSeed());
  ConvCase c(RandomPointwise(rng), rng);
  host::SetPortableOnly(true);
  EXPECT_STREQ(host::HostIsa(), "portable");
  EXPECT_STREQ(host::ConvImpl(c.params, 1 << 30), "portable");
  host::SetPortableOnly(false);
  EXPECT_FALSE(host::PortableOnly());
}

// ---------------------------------------------------------------------- the sweeps can fail at all

using host::internal::Fault;

class HostFaultInjection : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(host::HostIsa()) != "avx2") GTEST_SKIP() << "no AVX2 fast paths on this CPU";
  }
};

TEST_F(HostFaultInjection, IntegerBiasAddIsCaught) {
  FaultGuard f(Fault::kIntegerBiasAdd);
  auto saturated = [](ConvSpec (*random)(std::mt19937&)) {
    return [=](std::mt19937& rng, std::string* what) {
      ConvSpec s = random(rng);
      s.bias = BiasKind::kI32Saturated;
      *what = s.ToString();
      return HostKernelTester().spec(s).TestForward(rng);
    };
  };
  EXPECT_GT(CountDifferences(60, saturated(RandomPointwise)), 0);
  EXPECT_GT(CountDifferences(60, saturated(RandomDepthwise)), 0);
}

TEST_F(HostFaultInjection, OffByOneMaskIsCaught) {
  FaultGuard f(Fault::kMaskExcludes127);
  EXPECT_GT(CountDifferences(60, Forward(RandomPointwise, "")), 0);
  EXPECT_GT(CountDifferences(60, Forward(RandomDepthwise, "")), 0);
}

TEST_F(HostFaultInjection, FusedMultiplyAddInInputGradientIsCaught) {
  FaultGuard f(Fault::kFmaInBackwardInput);
  EXPECT_GT(CountDifferences(60, BackwardInput(RandomPointwise, "")), 30);
  EXPECT_GT(CountDifferences(60, BackwardInput(RandomDepthwise, "")), 30);
}

TEST_F(HostFaultInjection, ReorderedWeightGradientSumIsCaught) {
  FaultGuard f(Fault::kWeightGradPairwise);
  EXPECT_GT(CountDifferences(60, WeightGrad(RandomPointwise, "", UpdateMode::kBuffer)), 30);
  EXPECT_GT(CountDifferences(60, WeightGrad(RandomDepthwise, "", UpdateMode::kBuffer)), 30);
}

TEST_F(HostFaultInjection, SwappedUpdateOrderIsCaughtWithStochasticRounding) {
  FaultGuard f(Fault::kUpdateOrderSwapped);
  EXPECT_GT(CountDifferences(60, WeightGrad(RandomPointwise, "", UpdateMode::kDeviceStochastic)), 10);
  EXPECT_GT(CountDifferences(60, WeightGrad(RandomDepthwise, "", UpdateMode::kDeviceStochastic)), 10);
  // With round-to-nearest every element's update is independent: the order cannot show.
  EXPECT_EQ(CountDifferences(30, WeightGrad(RandomPointwise, "", UpdateMode::kDeviceNearest)), 0);
}

}  // namespace
}  // namespace tte::testing
