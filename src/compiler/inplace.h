// In-place execution decisions for a Program (issue: memory). An op may write its output over an input
// only when nothing reads that input's storage afterwards; every decision is recorded in the output
// tensor's alias_reason and the op's note. Decisions (ggml-style whitelist, one rule each):
//   - depthwise conv forward, any stride: output over the input (one plane of scratch);
//   - residual add forward: output over the conv-branch input x2 (elementwise);
//   - depthwise input gradient, stride 1, frozen weights, not accumulating: dx over g (one float plane);
//   - (made by autodiff itself) clamp mask + effective scale in place, and the residual add's conv-branch
//     gradient over the incoming gradient.
#pragma once

#include "compiler/program.h"

namespace tte {

// Applies the rules above; returns how many ops became in place.
int ApplyInPlace(Program* prog);

}  // namespace tte
