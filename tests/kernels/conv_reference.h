// Reference (oracle) conv kernels for the kernel tests: plain loops written from the contract in
// tte_kernels.h, independent of src/kernels (their own requantization, their own TFLite arithmetic with
// explicit rounding rules), for any geometry, groups, depthwise multiplier, activation range and requant
// mode. The fast paths of src/kernels and src/kernels/host must equal them bit for bit.
#pragma once

#include <cstdint>

#include "kernels/tte_kernels.h"

namespace tte::testing {

// TFLite's MultiplyByQuantizedMultiplier (ARITHMETIC.md section 2) written as the rounding rules it
// implements: x * 2^left (int32, wrapping), then SRDHM = floor(a * m / 2^31 + 1/2) (saturating the one
// overflow), then a division by 2^right rounding half away from zero.
int32_t RefMbqm(int32_t x, int32_t mult, int32_t shift);

// The conv forward of tte_conv_params (windows, mask), both requant modes. x_zero_delta != 0 makes it
// deliberately wrong (fault injection).
void RefConv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, int32_t x_zero_delta = 0);

// Input gradient in the documented order (per dx element: o ascending, kh, kw; from +0.0f; added last).
void RefBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate);

// Weight gradient of the trainable slice (selection sel[0..n), saved planes xs) added to dw, each element
// summed ho, wo ascending from +0.0f (tte_conv_weight_grad_f32 with opt == NULL).
void RefWeightGrad(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs, const float* g,
                   float* dw);

}  // namespace tte::testing
