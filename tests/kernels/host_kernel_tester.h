// XNNPACK-style tester of the host kernels (src/kernels/host): runs a host entry point and the portable
// kernel it replaces on the same random inputs and reports any bit difference. Fluent configuration:
//
//   HostKernelTester().spec(RandomDepthwise(rng)).mask(true).expect_impl("direct_avx2").TestForward(rng)
//
// Each Test* returns "" when every output bit (int8 outputs, masks, fp32 gradients, updated weights,
// masters, momentum buffers, the stochastic-rounding state) is identical, else a description of the
// first difference. Output buffers start with the same random garbage on both sides, so bits a kernel
// must not touch (the mask's tail, dx when not accumulating) are checked too. The scratch handed to the
// host kernel is filled with garbage and deliberately misaligned.
#pragma once

#include <random>
#include <string>

#include "kernels/conv_case.h"

namespace tte::testing {

enum class UpdateMode {
  kBuffer,           // opt == NULL: gradients added to a buffer
  kMaster,           // fused, fp32 masters
  kMasterMomentum,
  kDeviceNearest,    // fused, int8 in place, round half to even
  kDeviceStochastic, // fused, int8 in place, stochastic rounding (order of calls matters)
  kDeviceStochasticMomentum,
};
const char* UpdateModeName(UpdateMode m);

class HostKernelTester {
 public:
  HostKernelTester& spec(const ConvSpec& s) {
    spec_ = s;
    return *this;
  }
  HostKernelTester& mask(bool on) {
    mask_ = on;
    return *this;
  }
  HostKernelTester& accumulate(bool on) {
    accumulate_ = on;
    return *this;
  }
  HostKernelTester& update(UpdateMode m) {
    update_ = m;
    return *this;
  }
  // Puts an infinity into the gradient (backward tests): fast paths must stay exact or decline.
  HostKernelTester& non_finite(bool on) {
    non_finite_ = on;
    return *this;
  }
  // When the CPU has the fast paths (host::HostIsa() == "avx2"), the call must take this implementation
  // ("" = not checked), so a sweep cannot pass by silently falling back to the portable kernel.
  HostKernelTester& expect_impl(const std::string& impl) {
    expect_impl_ = impl;
    return *this;
  }

  std::string TestForward(std::mt19937& rng) const;
  std::string TestBackwardInput(std::mt19937& rng) const;
  std::string TestWeightGrad(std::mt19937& rng) const;
  // host::ConvDepthwiseInPlace / ConvDepthwiseBackwardInputInPlace against the portable out-of-place
  // kernels (the in-place kernels' contract is to give exactly their results).
  std::string TestForwardInPlace(std::mt19937& rng) const;
  std::string TestBackwardInputInPlace(std::mt19937& rng) const;

 private:
  std::string CheckImpl(const char* impl) const;

  ConvSpec spec_;
  bool mask_ = true;
  bool accumulate_ = false;
  bool non_finite_ = false;
  UpdateMode update_ = UpdateMode::kBuffer;
  std::string expect_impl_;
};

}  // namespace tte::testing
