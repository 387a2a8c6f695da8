// Host kernel dispatch (see host_kernels.h): picks a fast path (host_internal.h lists them, one file
// each) when the CPU has AVX2 + FMA, the call's shape and exactness bounds fit it and the scratch is large
// enough; otherwise the portable kernel runs. Every fast path is bit-identical to the portable kernel.
#include "kernels/host/host_kernels.h"

#include <algorithm>
#include <atomic>

#include "kernels/host/host_internal.h"

namespace tte::host {

namespace internal {
std::atomic<int> g_fault{0};
}  // namespace internal

namespace {

using namespace internal;  // NOLINT(build/namespaces): the fast-path declarations

std::atomic<bool> g_portable_only{false};

bool CpuHasAvx2() {
#if TTE_HOST_X86
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

bool Active() { return CpuHasAvx2() && !g_portable_only.load(std::memory_order_relaxed); }

bool Fits(size_t need, size_t have) { return need > 0 && need <= have; }

enum class Impl { kPortable, kPointwise, kDirect, kDepthwise };

const char* Name(Impl i) {
  switch (i) {
    case Impl::kPointwise: return "pointwise_avx2";
    case Impl::kDirect: return "direct_avx2";
    case Impl::kDepthwise: return "depthwise_avx2";
    case Impl::kPortable: break;
  }
  return "portable";
}

Impl ChooseConv(const tte_conv_params& p, size_t scratch) {
  if (!Active()) return Impl::kPortable;
  if (PointwiseFwdApplies(p) && Fits(PointwiseFwdScratchBytes(p), scratch)) return Impl::kPointwise;
  if (DirectFwdApplies(p) && Fits(DirectFwdScratchBytes(p), scratch)) return Impl::kDirect;
  return Impl::kPortable;
}

Impl ChooseBackwardInput(const tte_conv_params& p, size_t scratch) {
  if (!Active()) return Impl::kPortable;
  if (PointwiseBwdInputApplies(p) && Fits(PointwiseBwdInputScratchBytes(p), scratch)) return Impl::kPointwise;
  if (DepthwiseBwdInputApplies(p) && Fits(DepthwiseBwdInputScratchBytes(p), scratch)) return Impl::kDepthwise;
  return Impl::kPortable;
}

Impl ChooseWeightGrad(const tte_conv_params& p, int32_t n, size_t scratch) {
  if (!Active() || n < 1) return Impl::kPortable;
  if (PointwiseWeightGradApplies(p) && n <= p.cin && Fits(PointwiseWeightGradScratchBytes(p, n), scratch))
    return Impl::kPointwise;
  if (DepthwiseWeightGradApplies(p) && n <= p.cout && Fits(DepthwiseWeightGradScratchBytes(p), scratch))
    return Impl::kDepthwise;
  return Impl::kPortable;
}

}  // namespace

size_t ConvScratchBytes(const tte_conv_params& p) {
  // The forward's own needs, and those of the weight gradient of the same conv (the executor sizes the
  // scratch from forward and input-gradient ops only; a trainable conv always has a forward op).
  size_t need = std::max(PointwiseFwdScratchBytes(p), DirectFwdScratchBytes(p));
  need = std::max(need, PointwiseWeightGradScratchBytes(p, p.cin));
  need = std::max(need, DepthwiseWeightGradScratchBytes(p));
  return need;
}

size_t ConvBackwardInputScratchBytes(const tte_conv_params& p) {
  return std::max(PointwiseBwdInputScratchBytes(p), DepthwiseBwdInputScratchBytes(p));
}

void Conv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, Scratch s) {
#if TTE_HOST_X86
  switch (ChooseConv(*p, s.bytes)) {
    case Impl::kPointwise: PointwiseFwdAvx2(*p, x, y, mask, AlignScratch(s.data)); return;
    case Impl::kDirect: DirectFwdAvx2(*p, x, y, mask, AlignScratch(s.data)); return;
    default: break;
  }
#endif
  (void)s;
  tte_conv_s8(p, x, y, mask);
}

void ConvBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate, Scratch s) {
#if TTE_HOST_X86
  switch (ChooseBackwardInput(*p, s.bytes)) {
    case Impl::kPointwise: PointwiseBwdInputAvx2(*p, g, dx, accumulate, AlignScratch(s.data)); return;
    case Impl::kDepthwise: DepthwiseBwdInputAvx2(*p, g, dx, accumulate, AlignScratch(s.data)); return;
    default: break;
  }
#endif
  (void)s;
  tte_conv_backward_input_f32(p, g, dx, accumulate);
}

void ConvWeightGrad(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs, const float* g,
                    float* dw, const tte_sgd* opt, const tte_conv_train* t, Scratch s) {
#if TTE_HOST_X86
  switch (ChooseWeightGrad(*p, n, s.bytes)) {
    case Impl::kPointwise: PointwiseWeightGradAvx2(*p, n, xs, g, dw, opt, t, AlignScratch(s.data)); return;
    case Impl::kDepthwise:
      if (DepthwiseWeightGradAvx2(*p, n, sel, xs, g, dw, opt, t, AlignScratch(s.data))) return;
      break;
    default: break;
  }
#endif
  (void)s;
  tte_conv_weight_grad_f32(p, n, sel, xs, g, dw, opt, t);
}

bool ConvDepthwiseInPlace(const tte_conv_params* p, int8_t* buf, uint8_t* mask, Scratch s) {
#if TTE_HOST_X86
  // DirectFwdAvx2 reads input plane c into scratch before it writes output plane c, which overlaps only
  // input planes <= c when out.h * out.w <= in_h * in_w (multiplier 1), so it may run with y == x.
  const bool fits = static_cast<int64_t>(p->out.h) * p->out.w <= static_cast<int64_t>(p->in_h) * p->in_w;
  if (fits && IsDepthwiseMult1(*p) && ChooseConv(*p, s.bytes) == Impl::kDirect) {
    DirectFwdAvx2(*p, buf, buf, mask, AlignScratch(s.data));
    return true;
  }
#endif
  (void)p, (void)buf, (void)mask, (void)s;
  return false;
}

bool ConvDepthwiseBackwardInputInPlace(const tte_conv_params* p, float* buf, Scratch s) {
#if TTE_HOST_X86
  // DepthwiseBwdInputAvx2 copies gradient plane c into scratch before it writes dx plane c; with equal
  // plane sizes, plane c of dx is exactly plane c of g.
  if (p->out.h == p->in_h && p->out.w == p->in_w && ChooseBackwardInput(*p, s.bytes) == Impl::kDepthwise) {
    DepthwiseBwdInputAvx2(*p, buf, buf, 0, AlignScratch(s.data));
    return true;
  }
#endif
  (void)p, (void)buf, (void)s;
  return false;
}

const char* HostIsa() { return Active() ? "avx2" : "portable"; }

const char* ConvImpl(const tte_conv_params& p, size_t scratch_bytes) { return Name(ChooseConv(p, scratch_bytes)); }
const char* ConvBackwardInputImpl(const tte_conv_params& p, size_t scratch_bytes) {
  return Name(ChooseBackwardInput(p, scratch_bytes));
}
const char* ConvWeightGradImpl(const tte_conv_params& p, int32_t n, size_t scratch_bytes) {
  return Name(ChooseWeightGrad(p, n, scratch_bytes));
}

void SetPortableOnly(bool on) { g_portable_only.store(on, std::memory_order_relaxed); }
bool PortableOnly() { return g_portable_only.load(std::memory_order_relaxed); }

}  // namespace tte::host
