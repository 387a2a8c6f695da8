// Writing a trained program's parameters back into a Model (and from there to a .pkl).
//
// Trained conv weights come from the SRAM slices (device mode: the int8 values; master mode: the fp32
// masters rounded half to even and clamped to int8), biases likewise (master biases rounded and saturated
// to int32). The new head is stored exactly (fp32, Model::fp_head -> "tte_head" in the .pkl) and also
// quantized into the int8 `classifier` (weights per output channel symmetric, bias int32 at
// w_scale * x_scale, output scale from the observed logit range), so `tte infer` and the reference's own
// loaders run the trained model as a plain int8 network.
#pragma once

#include <string>
#include <vector>

#include "compiler/program.h"
#include "ir/graph.h"
#include "model/model.h"
#include "runtime/executor.h"

namespace tte {

struct LogitRange {
  float min = -8.0f, max = 8.0f;  // observed fp32 logits (sets the int8 classifier's output scale)
};

Result<Model> ExportTrainedModel(const Model& base, const Program& prog, const Executor& exec,
                                 const std::vector<std::string>& class_names, LogitRange range);

// Initial head weights/bias: the graph's fp32 head (a model trained by tte) when it matches (classes,
// features); else, with from_int8_classifier (fine-tuning on the model's own task) and when the model's int8
// classifier predicts `num_classes` classes, that classifier dequantized; else empty (a fresh head, as the
// reference starts a new task).
void HeadFromGraph(const ir::Graph& g, int num_classes, std::vector<float>* w, std::vector<float>* b,
                   bool from_int8_classifier = false);

}  // namespace tte
