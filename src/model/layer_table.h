// The layer table of a model at a given input resolution: what `tte info` prints. One row per conv
// (with its sparse-update conv index), residual add, average pool and the int8 classifier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"

namespace tte {

struct LayerRow {
  int conv_index = -1;        // sparse-update index; -1 for non-conv rows and the classifier
  std::string name;           // "blocks.3.pointwise1"
  std::string op;             // "conv3x3/s2", "dw3x3", "pw", "add", "avgpool", "classifier"
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0, out_h = 0, out_w = 0;
  int kernel = 0, stride = 0, groups = 0;
  int64_t params = 0;         // weights + biases
  int64_t macs = 0;
  int64_t act_bytes = 0;      // int8 output activation
};

struct LayerTableSummary {
  int64_t params = 0, macs = 0;
  int64_t weight_bytes = 0, bias_bytes = 0;  // int8 weights, int32 biases (backbone + classifier)
  int64_t max_in_out_bytes = 0;              // largest input + output activation of any layer
  int convs = 0, blocks = 0, residuals = 0;
};

Result<std::vector<LayerRow>> LayerTable(const Model& m, int resolution, LayerTableSummary* summary);

}  // namespace tte
