// The training compiler: ir::Graph + sparse-update scheme + training options -> one training Program.
//
// Stages (each a function in train_compiler.cc / autodiff.cc):
//   1. resolve the scheme into per-layer decisions (bias trained? which weight channels?);
//   2. requires-grad analysis: a value needs a gradient iff it is computed from the output of a trained
//      layer (it lies downstream of one); this prunes the backward at compile time;
//   3. forward: BuildForward with clamp masks only where a gradient will pass through them;
//   4. parameter binding: trainable weight rows move to SRAM state (the rest stays in flash), biases
//      become state, QAS divisors and selection lists become flash tables;
//   5. saved-for-backward: the selected input channels of each weight-trained conv are gathered right
//      before it runs (or the whole input is kept when every channel is trained);
//   6. head + loss, then reverse-mode autodiff with one rule per forward op (autodiff.cc), gradients
//      accumulated at fan-out, updates fused into the backward (or deferred to apply ops);
//   7. dead-tensor elimination.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/forward_builder.h"
#include "compiler/patch_forward.h"
#include "compiler/program.h"
#include "compiler/scheme.h"
#include "kernels/tte_kernels.h"
#include "compiler/layer_view.h"
#include "ir/graph.h"

namespace tte {

enum class WeightStore { kDevice, kMaster };

struct TrainOptions {
  int num_classes = 10;
  bool qas = true;
  float momentum = 0.0f;
  WeightStore store = WeightStore::kDevice;
  int rounding = TTE_ROUND_STOCHASTIC; // device mode
  // true: each layer's bias/weight update runs right after its gradient, the weight gradient is consumed
  // element by element (no gradient buffers): the paper's operator reordering. false: gradients go to
  // buffers and apply ops run at the end of the step (needed for gradient accumulation over a batch).
  bool fuse_updates = true;
  bool in_place = true;               // in-place execution where safe (compiler/inplace.h)
  int patch_grid = 0;                 // patch-based forward of the frozen prefix: grid x grid tiles (0: off)
  int patch_split = -1;               // conv index ending the patch stage (-1: the last patchable conv)
  // Reproduces the reference compiler's defect (ENGINE.md 2.3: gradients at fan-out overwritten instead of
  // summed). Only for tests that prove the gradient tests catch it.
  bool debug_overwrite_fanout = false;
  uint64_t seed = 0;                  // head initialisation and random channel selection
  std::vector<float> head_weight;     // optional initial head [classes x features]; default PyTorch-style init
  std::vector<float> head_bias;
};

struct CompiledTraining {
  Program program;
  ResolvedScheme scheme;
  LayerView view;
  ForwardGraph forward;
  TrainOptions options;
  size_t update_begin = 0;            // ops [update_begin, end) apply stored gradients (empty when fused)
  PatchStats patch;                   // patch-based forward, if requested
};

// QAS divisors of one layer, fp32 exactly as the reference's SGDScale: s_w = eff * y_scale / x_scale,
// weight gradients are divided by s_w^2 and bias gradients by (eff * y_scale)^2. All ones when !qas.
void QasDivisors(const std::vector<float>& eff, double x_scale, double y_scale, bool qas, std::vector<float>* weight_div,
                 std::vector<float>* bias_div);

Result<CompiledTraining> CompileTraining(const ir::Graph& graph, const Scheme& scheme, const TrainOptions& options);

// Stable text form of a program (what `tte compile` prints): tensors, ops, per-op counts.
std::string ProgramToText(const Program& prog, bool with_tensors = true);

}  // namespace tte
