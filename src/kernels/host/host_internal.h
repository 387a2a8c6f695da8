// Internals shared by the host fast paths (host_kernels.cc dispatches to them): which calls a fast path
// accepts, how much scratch it needs, the fast-path entry points, and the test-only fault switch.
//
// Every fast path here is bit-identical to the portable kernel it replaces (see tte_kernels.h and
// docs/DESIGN.md "Numerics"). How each one stays exact is written in its file's header comment:
//   pointwise_fwd.cc   1x1 conv forward: int16 channel pairs, _mm256_madd_epi16, exact int32 sums;
//   direct_fwd.cc      depthwise (any multiplier) and dense convs of any kernel / stride / dilation / pads
//                      (the first convs): fp32 FMA over zero-padded, stride-phase-split planes, exact
//                      because every partial sum is an integer below 2^24;
//   bwd_input.cc       input gradients (pointwise, depthwise multiplier 1): the reference's per-element
//                      fp32 order, vectorized across output elements only;
//   weight_grad.cc     weight gradients (pointwise, depthwise): the reference's per-element order and the
//                      same sequence of updates;
// Both forward paths requantize in either mode (FP32: avx2_util.h Requant8; TFLITE: RequantTflite8).
//   sgd_update.cc      the fused updates of those gradients, 8 elements at a time, exactly tte_sgd_weight.
// The AVX2 code is compiled with __attribute__((target("avx2,fma"))) for a baseline x86-64 build and is
// only called after a run-time CPU check; other targets compile none of it and use the portable kernels.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/tte_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define TTE_HOST_X86 1
#define TTE_AVX2 __attribute__((target("avx2,fma")))
#else
#define TTE_HOST_X86 0
#define TTE_AVX2
#endif

namespace tte::host::internal {

// ---------------------------------------------------------------------------------------------- shapes
// The output buffer window (tte_conv_params::out_buf, patch-based execution) holds exactly `out`.
inline bool OutBufIsOut(const tte_conv_params& p) {
  return p.out_buf.y0 == p.out.y0 && p.out_buf.x0 == p.out.x0 && p.out_buf.h == p.out.h && p.out_buf.w == p.out.w;
}
// Whole tensors: the x buffer is the whole input, y the whole output (the fast paths' precondition, as
// the portable kernels' own fast loops).
inline bool IsWhole(const tte_conv_params& p) {
  return p.in_buf.y0 == 0 && p.in_buf.x0 == 0 && p.in_buf.h == p.in_h && p.in_buf.w == p.in_w && p.out.y0 == 0 &&
         p.out.x0 == 0 && p.out.h == tte_window_out_size(p.in_h, p.kh, p.sh, p.dh, p.pad_t, p.pad_b) &&
         p.out.w == tte_window_out_size(p.in_w, p.kw, p.sw, p.dw, p.pad_l, p.pad_r) && OutBufIsOut(p);
}
// Every axis' stride and dilation at least 1, pads not negative (what the geometry code of the fast paths
// assumes; the portable kernels' contract as well).
inline bool SaneGeometry(const tte_conv_params& p) {
  return p.kh >= 1 && p.kw >= 1 && p.sh >= 1 && p.sw >= 1 && p.dh >= 1 && p.dw >= 1 && p.pad_t >= 0 &&
         p.pad_b >= 0 && p.pad_l >= 0 && p.pad_r >= 0 && p.cin >= 1 && p.cout >= 1 && p.groups >= 1;
}
inline bool IsPointwise(const tte_conv_params& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pad_t == 0 && p.pad_b == 0 && p.pad_l == 0 &&
         p.pad_r == 0 && p.groups == 1 && !p.depthwise;
}
inline bool IsDepthwise(const tte_conv_params& p) { return p.depthwise != 0 && p.groups == p.cin; }
// Depthwise with one output channel per input channel.
inline bool IsDepthwiseMult1(const tte_conv_params& p) { return IsDepthwise(p) && p.cout == p.cin; }
// Largest |x - x_zero| over int8 x.
inline int64_t MaxAbsShifted(int32_t x_zero) {
  const int64_t a = -128 - static_cast<int64_t>(x_zero), b = 127 - static_cast<int64_t>(x_zero);
  const int64_t abs_a = a < 0 ? -a : a, abs_b = b < 0 ? -b : b;
  return abs_a > abs_b ? abs_a : abs_b;
}
inline size_t RoundUp(size_t v, size_t m) { return (v + m - 1) / m * m; }

// Carves 64-byte aligned blocks out of a scratch buffer (sizes are computed with the same calls, see
// *ScratchBytes, so a fast path never overruns what it asked for).
class Carver {
 public:
  explicit Carver(uint8_t* base) : base_(base) {}
  template <typename T>
  T* Take(size_t count) {
    used_ = RoundUp(used_, 64);
    T* p = reinterpret_cast<T*>(base_ ? base_ + used_ : nullptr);
    used_ += count * sizeof(T);
    return p;
  }
  // Bytes needed, including the worst-case alignment of the base pointer.
  size_t bytes() const { return used_ + 64; }

 private:
  uint8_t* base_;
  size_t used_ = 0;
};
// The base pointer aligned up to 64 bytes (the Carver's extra 64 bytes make room for it).
inline uint8_t* AlignScratch(uint8_t* p) {
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + 63) & ~static_cast<uintptr_t>(63));
}

// ------------------------------------------------------------------------------- fast-path predicates
// Each returns whether its fast path handles the call (shape, exactness bounds); scratch is checked
// by the dispatcher. *ScratchBytes give the bytes the fast path needs (0 if it does not apply).
bool PointwiseFwdApplies(const tte_conv_params& p);
size_t PointwiseFwdScratchBytes(const tte_conv_params& p);
bool DirectFwdApplies(const tte_conv_params& p);  // depthwise, or dense groups == 1 (not pointwise)
size_t DirectFwdScratchBytes(const tte_conv_params& p);
bool PointwiseBwdInputApplies(const tte_conv_params& p);
size_t PointwiseBwdInputScratchBytes(const tte_conv_params& p);
bool DepthwiseBwdInputApplies(const tte_conv_params& p);
size_t DepthwiseBwdInputScratchBytes(const tte_conv_params& p);
bool PointwiseWeightGradApplies(const tte_conv_params& p);
size_t PointwiseWeightGradScratchBytes(const tte_conv_params& p, int32_t n);
bool DepthwiseWeightGradApplies(const tte_conv_params& p);
size_t DepthwiseWeightGradScratchBytes(const tte_conv_params& p);

// ------------------------------------------------------------------------ fast paths (AVX2 + FMA only)
// `scratch` is 64-byte aligned and at least the *ScratchBytes of the call.
void PointwiseFwdAvx2(const tte_conv_params& p, const int8_t* x, int8_t* y, uint8_t* mask, uint8_t* scratch);
void DirectFwdAvx2(const tte_conv_params& p, const int8_t* x, int8_t* y, uint8_t* mask, uint8_t* scratch);
void PointwiseBwdInputAvx2(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate,
                           uint8_t* scratch);
void DepthwiseBwdInputAvx2(const tte_conv_params& p, const float* g, float* dx, int32_t accumulate,
                           uint8_t* scratch);
void PointwiseWeightGradAvx2(const tte_conv_params& p, int32_t n, const int8_t* xs, const float* g, float* dw,
                             const tte_sgd* opt, const tte_conv_train* t, uint8_t* scratch);
// tte_sgd_weight(opt, t, e0 + i, o, g[i]) for i = 0 .. count-1, in that order.
void SgdWeightRunAvx2(const tte_sgd* opt, const tte_conv_train* t, int32_t e0, int32_t o, const float* g,
                      int32_t count);
// Returns false (and does nothing) when a selected gradient plane holds a non-finite value: the fast
// path's zero padding is exact only for finite gradients; the caller then runs the portable kernel.
bool DepthwiseWeightGradAvx2(const tte_conv_params& p, int32_t n, const uint16_t* sel, const int8_t* xs,
                             const float* g, float* dw, const tte_sgd* opt, const tte_conv_train* t,
                             uint8_t* scratch);

// ------------------------------------------------------------------------------ fault injection (tests)
// Deliberately wrong variants of the fast paths, switched on only by tests that prove the bit-equality
// tests catch realistic mistakes. Read once per call; kNone in production.
enum class Fault : int {
  kNone = 0,
  kIntegerBiasAdd,       // forward requant (FP32): (float)(acc + bias_i32) instead of (float)acc + (float)bias
  kMaskExcludes127,      // forward mask (FP32): v < act_max instead of v <= act_max
  kFmaInBackwardInput,   // input gradients: fused multiply-add instead of multiply, then add
  kWeightGradPairwise,   // weight gradients: two partial sums (even / odd positions) added at the end
  kUpdateOrderSwapped,   // fused updates: channel-major instead of output-major call order
};
extern std::atomic<int> g_fault;
inline Fault CurrentFault() { return static_cast<Fault>(g_fault.load(std::memory_order_relaxed)); }

}  // namespace tte::host::internal
