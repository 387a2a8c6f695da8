// InferenceSession: the int8 forward of a model, compiled to a Program, planned, and run by the
// Executor one image at a time. The logits come from the model's own int8 classifier, or, with
// use_fp_head on a model trained by tte, from its fp32 head (what training measures accuracy with).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/forward_builder.h"
#include "compiler/program.h"
#include "ir/graph.h"
#include "runtime/executor.h"

namespace tte {

class InferenceSession {
 public:
  // `softmax`: also run the model's final softmax (when it has one) and make it the output.
  static Result<std::unique_ptr<InferenceSession>> Create(const ir::Graph& model, bool use_fp_head = false,
                                                         bool softmax = false);

  int resolution() const { return program_.resolution; }
  int num_classes() const { return static_cast<int>(program_.tensors[program_.logits].numel()); }
  // The model's output: its final softmax when Create ran it, else the logits.
  int output_size() const { return static_cast<int>(program_.tensors[output_].numel()); }
  const int8_t* output() const { return reinterpret_cast<const int8_t*>(exec_->Data(output_)); }
  int64_t input_bytes() const { return program_.tensors[program_.input].bytes(); }

  // Runs one input (int8, the model's [C, H, W]). The logits stay valid until the next Run.
  void Run(const int8_t* image);
  const int8_t* logits() const;        // int8 classifier only
  bool fp_logits() const { return program_.tensors[program_.logits].dtype == DType::kFloat32; }
  float logit(int i) const;            // either kind, as float
  // argmax of the output (the softmax when it ran, as TFLite's evaluations take it; first index on ties,
  // as torch.argmax)
  int Predict() const;
  // Stage outputs of the last Run: the reference's dump names for .pkl models (first_conv, block_00, ..., fc),
  // every op's output ("NN_<op>") for other models.
  const std::vector<std::pair<std::string, int>>& stages() const { return graph_.stages; }
  const TensorInfo& tensor(int id) const { return program_.tensors[id]; }
  const uint8_t* data(int id) const { return exec_->Data(id); }
  int64_t arena_bytes() const { return exec_->arena_bytes(); }

 private:
  Program program_;
  ForwardGraph graph_;
  int output_ = -1;
  std::unique_ptr<Executor> exec_;
};

}  // namespace tte
