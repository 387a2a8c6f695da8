// The layer table of a model: what `tte info` prints. One row per graph node, with the layer index that
// sparse-update schemes use (compiler/layer_view.h) for the trainable layers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/layer_view.h"
#include "core/status.h"
#include "ir/graph.h"

namespace tte {

struct LayerRow {
  int conv_index = -1;        // layer index (sparse-update numbering); -1 for other rows and the classifier
  std::string name;           // "blocks.3.pointwise1", or the node's name
  std::string op;             // "conv3x3/s2", "dw3x3", "pw", "fc", "add", "avgpool", "classifier", ...
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0, out_h = 0, out_w = 0;
  std::string kernel, stride; // "3", "10x4"; "2", "2x1"; empty for ops without a window
  int groups = 0;
  int64_t params = 0;         // weights + biases
  int64_t macs = 0;
  int64_t act_bytes = 0;      // int8 output activation
};

struct LayerTableSummary {
  int64_t params = 0, macs = 0;
  int64_t weight_bytes = 0, bias_bytes = 0;  // int8 weights, int32 biases (backbone + classifier)
  int64_t max_in_out_bytes = 0;              // largest input + output activation of any node
  int convs = 0, blocks = 0, residuals = 0;  // layers, .pkl blocks, add nodes
};

Result<std::vector<LayerRow>> LayerTable(const ir::Graph& g, LayerTableSummary* summary);

}  // namespace tte
