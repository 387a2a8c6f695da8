// Host kernel dispatch (see host_kernels.h). Fast paths live in files of their own; until one applies,
// the portable kernel runs.
#include "kernels/host/host_kernels.h"

namespace tte::host {

size_t ConvScratchBytes(const tte_conv_params&) { return 0; }
size_t ConvBackwardInputScratchBytes(const tte_conv_params&) { return 0; }

void Conv(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask, Scratch) { tte_conv_s8(p, x, y, mask); }

void ConvBackwardInput(const tte_conv_params* p, const float* g, float* dx, int32_t accumulate, Scratch) {
  tte_conv_backward_input_f32(p, g, dx, accumulate);
}

void ConvWeightGrad(const tte_conv_params* p, int32_t n, const uint16_t* sel, const int8_t* xs, const float* g,
                    float* dw, const tte_sgd* opt, const tte_conv_train* t, Scratch) {
  tte_conv_weight_grad_f32(p, n, sel, xs, g, dw, opt, t);
}

const char* HostIsa() { return "portable"; }

}  // namespace tte::host
