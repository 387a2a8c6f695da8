// The arena over the schedule as an SVG picture (like Figure 20 of the MCUNetV3 paper).
//
// x = op index (schedule order), y = arena offset. One rectangle per arena buffer (alias groups once), from
// its first to its last op, coloured by kind (activation, saved for backward, mask, gradient, scratch),
// with a tooltip naming it. The forward, backward and update regions are shaded, the op with the most
// live bytes is highlighted, and the live-bytes curve and the lower bound are drawn for comparison.
#pragma once

#include <string>

#include "compiler/program.h"
#include "memory/planner.h"

namespace tte {

// `title` is the first line of the heading (e.g. "mcunet-5fps / 49kb").
std::string PlanToSvg(const Program& prog, const MemoryPlan& plan, const std::string& title);

}  // namespace tte
