// The repository's own graphs covering every IR op kind in its general form, in either requant mode (built with
// GraphBuilder): conv2d with rectangular kernels, per-axis strides and dilations and asymmetric pads; grouped convs;
// depthwise with multiplier 2; fully connected over [C,H,W] and over vectors; adds fed by shortcut convs and by values
// with several consumers; windowed average pools with and without a clamp; TFLite MEAN (both of its arithmetics);
// pad; CHW and NHWC reshapes; clamp ranges of every kind. Used by the gradient simulation test
// (tests/runtime/gradient_simulation_test.cc) and, written to disk by tte_oracle_fixtures, by the PyTorch oracle.
#pragma once

#include "ir/graph.h"

namespace tte::testing {

inline constexpr int kOpKindClasses = 5;  // classes of every graph's classifier

struct OpKindGraph {
  const char* name;
  ir::Graph (*make)(ir::Requant);
  bool clamps;  // the graph has clamp ranges that must stop some gradient
};

extern const OpKindGraph kOpKindGraphs[9];

}  // namespace tte::testing
