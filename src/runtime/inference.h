// InferenceSession: the int8 forward of a model (through its own int8 classifier), compiled to a
// Program, planned, and run by the Executor one image at a time.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/forward_builder.h"
#include "compiler/program.h"
#include "model/model.h"
#include "runtime/executor.h"

namespace tte {

class InferenceSession {
 public:
  static Result<std::unique_ptr<InferenceSession>> Create(const Model& model, int resolution = 0);

  int resolution() const { return program_.resolution; }
  int num_classes() const { return static_cast<int>(program_.tensors[program_.logits].numel()); }
  int64_t input_bytes() const { return program_.tensors[program_.input].bytes(); }

  // Runs one image (int8 CHW, 3 x R x R). The logits stay valid until the next Run.
  void Run(const int8_t* image);
  const int8_t* logits() const;
  // Stage outputs of the last Run, named as the reference's dumps (first_conv, block_00, ..., fc).
  const std::vector<std::pair<std::string, int>>& stages() const { return graph_.stages; }
  const TensorInfo& tensor(int id) const { return program_.tensors[id]; }
  const uint8_t* data(int id) const { return exec_->Data(id); }
  int64_t arena_bytes() const { return exec_->arena_bytes(); }

 private:
  Program program_;
  ForwardGraph graph_;
  std::unique_ptr<Executor> exec_;
};

}  // namespace tte
