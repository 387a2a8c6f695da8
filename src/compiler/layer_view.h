// LayerView: the layer numbering schemes, `tte info` and reports use, derived from an ir::Graph.
//
// The trainable layers are the graph's conv2d, depthwise_conv2d and fully_connected nodes in execution
// order, except the classifier; layer i is the i-th of them. For a .pkl model this is exactly the
// reference's conv index (first_conv = 0, then each block's convs, feature_mix; classifier excluded), so its
// sparse-update schemes address the same layers. The classifier ("head") is the conv or fully connected node
// that produces the graph output, possibly through reshapes and a final softmax; training replaces it by an
// fp32 linear head over its input (the "features").
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace tte {

struct Layer {
  int node = -1;               // ir::Graph node index
  std::string name;            // the node's name
  std::string short_name;      // compact identifier for programs and generated C: "b3.pw1", "conv4", "fc9"
  ir::OpKind op = ir::OpKind::kConv2d;
  int cin = 0, cout = 0, groups = 1, kh = 1, kw = 1;
  bool depthwise = false;      // one filter per output channel; sparse updates select output channels
  bool fully_connected = false;
  int weight = -1, bias = -1;  // value ids of the int8 OIHW weights and int32 biases
  int input = -1, output = -1; // value ids

  int kk() const { return kh * kw; }
  int in_per_group() const { return cin / groups; }
  int selection_count() const { return depthwise ? cout : cin; }
};

struct LayerView {
  std::vector<Layer> layers;   // trainable layers, by layer index
  int head_node = -1;          // the classifier node, -1 if the graph has none
  int head_input = -1;         // value id of the classifier's input (the features), -1 if none
  int softmax_node = -1;       // a final softmax after the classifier, -1 if none
  std::vector<int> layer_of_node;  // node index -> layer index (-1: not a trainable layer)

  int head_classes(const ir::Graph& g) const;  // output channels of the classifier (0 if none)
};

// Fails only on graphs that are not verified (call ir::Verify first).
Result<LayerView> MakeLayerView(const ir::Graph& g);

// A compact identifier of any node for program tensors and generated C: the layer's short name, "classifier",
// "b3.add" for a .pkl residual add, "avgpool", or "<op><node index>".
std::string NodeShortName(const ir::Graph& g, const LayerView& v, int node);

// Names the dump files and reference stages use for a node's output: the reference's stage names for .pkl
// graphs ("first_conv", "block_03", "feature_mix", "avgpool", "fc"; none for nodes inside a block; the
// reference names the last block's output "feature_mix" too when the model has no feature-mix conv), else
// "NN_<op>" with NN the operator index in the source file (or the node index).
std::vector<std::vector<std::string>> StageNames(const ir::Graph& g);

}  // namespace tte
