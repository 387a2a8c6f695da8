// Training steps for equivalence tests: compile a graph, plan it, run a few steps in exactly the planned arena,
// and collect the loss, the logits and every byte of persistent state, so that two compilations of the same
// training (fused vs deferred updates, in place or not, patches or not) can be compared bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/scheme.h"
#include "compiler/train_compiler.h"
#include "ir/graph.h"

namespace tte::testing {

struct StepOutcome {
  std::map<std::string, std::vector<uint8_t>> state;  // by tensor name (gradient buffers excluded)
  float loss = 0;
  std::vector<float> logits;
};

// num_classes 10, seed 5, lr 0.05, stochastic-rounding seed 99 unless opt says otherwise for classes/seed.
StepOutcome Step(const ir::Graph& m, const Scheme& s, TrainOptions opt, const int8_t* image, int label, int steps = 2);
void ExpectSame(const StepOutcome& a, const StepOutcome& b, const std::string& what);

}  // namespace tte::testing
