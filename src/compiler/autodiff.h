// Reverse-mode autodiff over a Program's forward ops, at compile time.
//
// Gradient rules are a table with one entry per forward op (kConv, kAdd, kAvgPool, kMean, kPad, kReshape,
// kHeadForward); each
// rule reads the gradient of the op's output and emits backward ops for exactly the gradients someone
// needs: an input gradient only if the input requires grad (something trainable lies upstream), a bias
// gradient only if the bias is trained, a weight gradient only for the trained channels. Gradients of a
// value with several consumers (a residual block's input feeds both the shortcut and the first conv; a
// ResNet's shortcut conv and its main path) are ACCUMULATED: the first contribution writes the buffer, the
// later ones add to it, directly where the kernel can accumulate, else through a kAccumulate op (the
// reference compiler overwrote them, ENGINE.md 2.3).
#pragma once

#include <vector>

#include "compiler/program.h"
#include "core/status.h"

namespace tte {

struct AutodiffInputs {
  std::vector<bool> requires_grad;   // by tensor id (forward values)
  std::vector<int> saved_input;      // by layer index: tensor holding the selected input channels (-1: none)
  int features = -1;                 // the head's input
  int logits = -1;                   // head output (fp32)
  bool fused = true;                 // fuse updates into the backward
  bool debug_overwrite_fanout = false;  // the reference compiler's defect, for tests only
};

// Appends the loss, the backward and (if not fused) nothing else to prog. Returns an error if a
// forward op has no gradient rule.
Status AppendBackward(const AutodiffInputs& in, Program* prog);

}  // namespace tte
