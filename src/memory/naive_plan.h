// The simplest arena plan: every arena tensor gets its own bytes, one after another (no reuse).
// Used as the baseline the real planners are compared with, and by tests.
#pragma once

#include "compiler/program.h"

namespace tte {

// Fills offsets of every kArena tensor (aligned to 8 bytes) and returns the arena size.
int64_t PlanNaive(Program* prog);

}  // namespace tte
