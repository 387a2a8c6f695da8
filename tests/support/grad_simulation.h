// An independent simulation of what `tte grad` (ComputeGradients) returns, for any ir::Graph: plain
// loops in double precision written from the definitions, calling none of tte's kernels or compiler
// passes.
//
// Forward: the graph's own int8 arithmetic, recomputed here (requant `reference-fp32`: the
// reference's fp32 formulas; `tflite-integer`: TFLite's QuantizeMultiplier /
// MultiplyByQuantizedMultiplier, its add, average pool and MEAN rules, as
// tests/import/tflite_golden_eval_test.cc). Every op that clamps records the inclusive mask
// "act_min <= pre-clamp value <= act_max" of its output.
//
// Backward, as tte (and the MCUNetV3 reference, ALGORITHM.md section 3) defines it: gradients with
// respect to the integer-valued tensors (int8 weights, int32 biases, int8 activations),
// straight-through rounding:
//   head      logits = W f + b, f = (x - z_x) s_x;  dlogits = softmax - onehot;  dW = dlogits f^T,
//             db = dlogits, dx = s_x W^T dlogits
//   conv/fc   ga = g * mask * eff_c (eff_c = float32(s_x s_w,c / s_y)); db = sum ga;
//             dW = sum ga * (x - z_x) over in-image taps; dx = transposed conv of ga with the int8
//             weights
//   add       ga = g * mask; dx1 = ga s1 / s_y; dx2 = ga s2 / s_y (scales as float32)
//   avg pool  ga = g * mask; each in-image tap of a window receives ga / (the window's in-image
//   count) mean      ga = g * mask; dx = ga s_x / (H W s_y) pad       crop;  reshape: the inverse
//   of the forward's element permutation (NHWC order if reshape_hwc)
// Values read by several consumers accumulate their gradients. The classifier (the conv / fully
// connected node producing the output, through reshapes and a softmax) is replaced by the fp32 head
// over its input.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tte::testing {

struct GradSimulation {
  std::vector<std::vector<int8_t>> act;  // int8 activations by value id (CHW); empty for constants
  std::vector<std::vector<uint8_t>>
      inside;  // clamp mask by value id (1: inside the range); empty: no clamp
  std::vector<double> logits;
  double loss = 0;
  std::map<std::string, std::vector<double>>
      grads;  // conv{i}.weight (OIHW), conv{i}.bias, head.weight, head.bias
  std::map<std::string, std::string>
      op_of_key;        // conv{i}.* -> the layer's op name; head.* -> "head"
  int64_t clamped = 0;  // mask bits that are 0 (gradient stopped by a clamp)
  int head_node = -1;
};

// The classifier node (conv / fully connected producing the output through reshapes and a softmax),
// or -1.
int HeadNode(const ir::Graph& g);

// input: int8 [C, H, W]; head_w [classes x features], head_b [classes].
GradSimulation SimulateGradients(const ir::Graph& g, const int8_t* input,
                                 const std::vector<float>& head_w, const std::vector<float>& head_b,
                                 int label);

struct GradComparison {
  int compared = 0;
  double worst = 0;  // max over tensors of max|tte - sim| / max|sim|
  std::string worst_key;
  std::map<std::string, double> worst_by_op;  // the same, per layer op kind ("conv2d", ..., "head")
  std::string failures;                       // one line per tensor above the tolerance, or missing
};

// Every gradient tte returned (keys other than loss and logits) against the simulation: relative
// error max|tte - sim| / max|sim| per tensor, failing above `tol`. Also checks loss and logits to
// `tol`.
GradComparison CompareGradients(const std::map<std::string, Tensor>& tte, const GradSimulation& sim,
                                double tol);

// ComputeGradients (scheme `full`) against the simulation. The head is head_w/head_b, or when empty
// a fresh one drawn like the reference's (uniform in +-1/sqrt(features), seeded).
struct GradCheck {
  Status status;  // ComputeGradients' error, if any
  std::map<std::string, Tensor> tte;
  GradSimulation sim;
  GradComparison cmp;
  std::vector<float> head_w, head_b;  // the head used
};
GradCheck CheckAgainstSimulation(const ir::Graph& g, const int8_t* input, int classes, int label,
                                 double tol, uint64_t seed, std::vector<float> head_w = {},
                                 std::vector<float> head_b = {});

}  // namespace tte::testing
