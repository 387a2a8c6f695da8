// One forward + backward without any update, returning every computed gradient (fp32, before QAS)
// with the reference's names: conv{i}.weight (full OIHW shape; channels that are not trained are 0),
// conv{i}.bias, head.weight, head.bias, plus loss and logits. This is `tte grad`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/scheme.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tte {

struct GradientRequest {
  const ir::Graph* model = nullptr;
  Scheme scheme;
  std::vector<float> head_weight;  // [classes x features]
  std::vector<float> head_bias;    // [classes]
  int num_classes = 0;             // inferred from head_bias when 0
  const int8_t* input = nullptr;   // int8 input in the model's [C, H, W]
  int label = 0;
  bool debug_overwrite_fanout = false;  // tests only: the reference compiler's fan-out defect
};

Result<std::map<std::string, Tensor>> ComputeGradients(const GradientRequest& req);

}  // namespace tte
