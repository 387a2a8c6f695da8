// Lowers an ir::Graph's forward to Program ops: one kernel call per node (trivial reshapes become views),
// every parameter copied into flash tensors, geometry and quantization resolved into bindings.
//
// Training programs stop at the classifier's input (the "features"): the classifier, and the reshapes and
// softmax after it, are replaced by the fp32 head (AppendHeadForward). Inference programs keep the int8
// classifier (and, if asked, a final softmax).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/layer_view.h"
#include "compiler/program.h"
#include "core/status.h"
#include "ir/graph.h"

namespace tte {

struct ForwardOptions {
  bool int8_classifier = true;     // inference: end with the model's int8 classifier
  bool softmax = false;            // inference: also run a final softmax after it
  std::vector<bool> mask;          // by ir value id: emit the clamp mask of the op producing it (training)
};

struct ForwardGraph {
  std::vector<int> tensor_of_value;  // ir value id -> program tensor (-1: constant, or not computed)
  std::vector<int> mask_of_value;    // ir value id -> its clamp mask tensor (-1: none)
  std::vector<int> conv_in, conv_out;  // by layer index (the int8 classifier is index layers.size())
  int features = -1;                 // the classifier's input tensor (training: the head's input)
  std::vector<std::pair<std::string, int>> stages;  // named node outputs for dumps (see StageNames)
};

// The layer index Op::conv uses for the int8 classifier.
inline int ClassifierIndex(const LayerView& v) { return static_cast<int>(v.layers.size()); }

// Appends the fp32 head's forward (features int8 -> fp32 logits, HeadBinding already set) and returns the
// logits tensor, which becomes the program's output.
int AppendHeadForward(Program* prog, int features, int num_classes);

// The fp32 effective scale of a layer's output channels: float32(s_x * s_w[c] / s_y), computed in double
// (per-tensor weight scales are broadcast).
std::vector<float> EffectiveScales(const ir::Graph& g, const ir::Node& n);

Result<ForwardGraph> BuildForward(const ir::Graph& g, const LayerView& view, const ForwardOptions& opt, Program* prog);

}  // namespace tte
