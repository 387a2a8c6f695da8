// Internal to src/codegen: how the generated tte_model.c refers to tensors, and the emission of kernel
// parameter structs and of the op list (one portable kernel call per op, mapped exactly as
// src/runtime/executor.cc's Prepare/RunOps do).
#pragma once

#include <string>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"

namespace tte::codegen {

// The C expression naming each tensor: a `static const` array (flash), a `static` array (state), or a
// typed pointer macro into the arena ("A16_b1_pw2_out").
struct TensorNames {
  std::vector<std::string> expr;   // by tensor id
  std::vector<std::string> ctype;  // element type, by tensor id
};
TensorNames NameTensors(const Program& prog);

struct EmittedOps {
  std::string params;     // static const parameter structs (after the arrays, before the functions)
  std::string forward;    // body of the forward function: ops [0, forward_ops)
  std::string loss;       // body of the loss op (op forward_ops, kLoss): uses `label`
  std::string loss_expr;  // the C lvalue of the fp32 loss it writes
  std::string backward;   // body of the rest of the training step: ops (forward_ops, end), may use `label`
  size_t forward_ops = 0; // ops up to and including the head forward; op forward_ops is the loss
};

// Needs the identifiers `tte_opt` (tte_sgd) of the generated file. Fails for ops the device cannot run and
// for kernel arguments that would write into flash. `profile_ops`: an mcu_mark() call before every op (the
// insncount plugin then gives the exact instruction count of each op).
Result<EmittedOps> EmitOps(const Program& prog, const TensorNames& names, bool profile_ops = false);

}  // namespace tte::codegen
