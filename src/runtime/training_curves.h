// Training curves as a self-contained SVG: loss (left axis) and train / eval top-1 (right axis) per epoch.
#pragma once

#include <string>
#include <vector>

#include "runtime/trainer.h"

namespace tte {

std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& epochs, const std::string& title);

}  // namespace tte
