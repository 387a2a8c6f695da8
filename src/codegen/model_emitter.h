// The model emitter: a compiled, planned, fused training Program -> tte_model.c / tte_model.h (C99).
//
// What the generated translation unit holds (see docs/mcu.md for an annotated example):
//   - every kFlash tensor as a `static const` array (8-byte aligned): frozen weights, biases, scales, tables;
//   - every kState tensor as a non-const array with its initial bytes (zero-initialised ones without an
//     initializer, so they land in .bss): trainable weight slices, biases, momentum, the fp32 head;
//   - ONE `static uint8_t tte_arena[TTE_ARENA_BYTES]` (exactly the plan's arena_bytes, 8-byte aligned) and one
//     macro per arena tensor: a typed pointer at its compile-time offset (no allocator);
//   - kernel parameter structs as `static const` initialized data (address constants into the arrays);
//   - tte_train_step(label): the op list as straight-line calls of the portable kernels (src/kernels), each
//     mapped exactly as the host Executor runs it (src/runtime/executor.cc), one call per op with a comment;
//   - tte_forward() (ops up to the head), tte_input(), tte_logits(), tte_loss(), tte_set_lr(),
//     tte_set_rng_seed() and tte_state_checksum() (replay.h defines it; the host computes the same).
#pragma once

#include <cstdint>
#include <string>

#include "codegen/op_emitter.h"
#include "compiler/program.h"
#include "core/status.h"
#include "memory/planner.h"

namespace tte::codegen {

struct ModelEmitInfo {
  std::string generated_by;  // "tte 0.1.0"
  std::string command;       // the command line that generated the project
  std::string model;         // model file and name
  std::string scheme;        // scheme name
  float lr = 0.01f;          // initial learning rate of the optimizer struct
  uint32_t rng_seed = 1;     // initial stochastic-rounding state (0 becomes 1, as in the Executor)
  // Profile build: mcu_mark() before every op, and main.c runs one step (TTE_PROFILE_OPS in tte_model.h).
  // The plugin's marks are then: 0 = step start, 1 + i = before op i, ops + 1 = step end, so op i's exact
  // instruction count is the delta of mark i + 2.
  bool profile_ops = false;
  // The model input's quantization and how pixels and the model file's layout map to tte_input() (tte_model.h's
  // TTE_INPUT_* macros). input_scale 0: unknown (no scale/zero-point macros).
  double input_scale = 0;
  int input_zero = 0;
  bool input_pixels_minus_128 = true;  // 8-bit pixels p are fed as p - 128; else round(p / 255 / scale) + zero
  bool input_source_nhwc = false;      // the model file's input is NHWC (TFLite)
};

struct EmittedModel {
  std::string header;        // tte_model.h
  std::string source;        // tte_model.c
  int64_t flash_data_bytes = 0;   // const arrays (tensor bytes, without alignment padding)
  int64_t state_init_bytes = 0;   // initialized state (.data)
  int64_t state_zero_bytes = 0;   // zero-initialised state (.bss)
  int64_t arena_bytes = 0;
  size_t forward_ops = 0;         // ops run by tte_forward()
};

// Internal to src/codegen: the pieces the QEMU harness model (EmitModel) and the library (library_emitter.h)
// share: flash arrays, state arrays (or, with `state_struct`, members of one struct `tte_st` with their
// initial values as designated initializers), the arena macros and the op bodies.
struct ModelParts {
  TensorNames names;
  std::string flash_text, state_text, arena_text;
  std::string state_init_text;  // state_struct: ".member = {...},\n" for every state tensor with initial bytes
  EmittedOps ops;
  int64_t flash_data_bytes = 0, state_init_bytes = 0, state_zero_bytes = 0, arena_bytes = 0;
};
Result<ModelParts> EmitModelParts(const Program& prog, const MemoryPlan& plan, bool state_struct, bool profile_ops);
extern const char* const kLossIsFinite;     // + the loss lvalue + kLossIsFiniteEnd: static int loss_is_finite(void)
extern const char* const kLossIsFiniteEnd;

// Fails (Unsupported) for programs the device does not run (deferred updates, inference programs) and
// (Internal) for inconsistent ones (unplanned arena tensors, a kernel that would write to flash).
Result<EmittedModel> EmitModel(const Program& prog, const MemoryPlan& plan, const ModelEmitInfo& info);

}  // namespace tte::codegen
