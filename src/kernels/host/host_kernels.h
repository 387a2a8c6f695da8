// Host-optimized kernels: the same contract as the portable kernels in tte_kernels.h, bit-identical to
// them, faster on x86-64 (SIMD chosen at run time). The executor calls these; generated MCU code calls
// the portable kernels directly. Each function falls back to the portable kernel whenever its fast path
// does not apply (or the CPU lacks the instructions), so it is always correct to call.
//
// Scratch: some fast paths re-lay out their inputs (e.g. int16 channel pairs). The executor allocates
// one host scratch buffer at start-up of HostScratchBytes(program) bytes and passes it to every call; a
// step allocates nothing. Host scratch is a host-only cost and is NOT part of the device's SRAM plan.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/tte_kernels.h"

namespace tte::host {

struct Scratch {
  uint8_t* data = nullptr;
  size_t bytes = 0;
};

// Scratch bytes the fast paths need for a conv with these parameters (0 if none).
size_t ConvScratchBytes(const tte_conv_params& p);
size_t ConvBackwardInputScratchBytes(const tte_conv_params& p);

void Conv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, Scratch s);
void ConvBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate, Scratch s);
void ConvWeightGrad(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs, const float* g,
                    float* dw, const tte_sgd* opt, const tte_conv_train* t, Scratch s);

// In-place depthwise variants for the executor's in-place ops (compiler/inplace.h), with the semantics of
// the portable tte_conv_dw_inplace_s8 / tte_conv_dw_backward_input_inplace_f32 (buf holds the input and
// receives the output; backward: stride 1, not accumulating). They return false, doing nothing, when no
// fast path applies; the caller then runs the portable in-place kernel. Scratch is the host scratch (the
// device scratch of the portable in-place kernels is not needed).
bool ConvDepthwiseInPlace(const tte_conv_params* p, int8_t* buf, uint8_t* mask, Scratch s);
bool ConvDepthwiseBackwardInputInPlace(const tte_conv_params* p, float* buf, Scratch s);

// Which implementation the dispatcher picks on this CPU (for reports): "avx2" (AVX2 + FMA fast paths) or
// "portable" (no such CPU, a non-x86 build, or SetPortableOnly(true)).
const char* HostIsa();

// The implementation a call with these parameters and `scratch_bytes` of scratch takes: "portable" or a
// fast path ("pointwise_avx2", "direct_avx2", "depthwise_avx2"). For tests and reports.
const char* ConvImpl(const tte_conv_params& p, size_t scratch_bytes);
const char* ConvBackwardInputImpl(const tte_conv_params& p, size_t scratch_bytes);
const char* ConvWeightGradImpl(const tte_conv_params& p, int32_t n, size_t scratch_bytes);

// Process-wide switch: true sends every call to the portable kernel (benchmarks compare both in one
// process; tests use it to run the reference through the same entry points). Default false.
void SetPortableOnly(bool on);
bool PortableOnly();

}  // namespace tte::host
