// Hand-built Programs for the memory tests: arena tensors of given byte sizes and ops over them. The
// planner only looks at tensors, op order and operands, so the op codes here are placeholders.
#pragma once

#include <string>
#include <vector>

#include "compiler/program.h"

namespace tte::testing {

class ProgramBuilder {
 public:
  // An int8 arena tensor of `bytes` bytes.
  int Tensor(const std::string& name, int64_t bytes) {
    TensorInfo t;
    t.name = name;
    t.dtype = DType::kInt8;
    t.shape = {bytes};
    return prog_.AddTensor(std::move(t));
  }
  int Mask(const std::string& name, int64_t elements) {
    TensorInfo t;
    t.name = name;
    t.dtype = DType::kUInt8;
    t.bits = true;
    t.shape = {elements};
    return prog_.AddTensor(std::move(t));
  }
  int State(const std::string& name, int64_t bytes) {
    const int id = Tensor(name, bytes);
    prog_.tensors[id].storage = Storage::kState;
    return id;
  }
  int Input(const std::string& name, int64_t bytes) {
    const int id = Tensor(name, bytes);
    prog_.tensors[id].is_input = true;
    return id;
  }
  int Output(const std::string& name, int64_t bytes) {
    const int id = Tensor(name, bytes);
    prog_.tensors[id].is_output = true;
    return id;
  }
  // `out` is computed in place of `of`.
  void Alias(int out, int of) {
    prog_.tensors[out].alias_of = of;
    prog_.tensors[out].alias_reason = "test";
  }
  int Op(std::vector<int> ins, std::vector<int> outs, Phase phase = Phase::kForward) {
    tte::Op op(OpCode::kConv);
    op.phase = phase;
    op.ins = std::move(ins);
    op.outs = std::move(outs);
    return prog_.AddOp(std::move(op));
  }
  Program& program() { return prog_; }

 private:
  Program prog_;
};

// True when [a, a + na) and [b, b + nb) share a byte.
inline bool Overlap(int64_t a, int64_t na, int64_t b, int64_t nb) { return a < b + nb && b < a + na; }

}  // namespace tte::testing
