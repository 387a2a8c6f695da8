// The MCUNetV3 .pkl model (model/model.h) as an ir::Graph: first conv, MobileNetV2 blocks with their residual
// adds, feature mix, global average pool and the 1x1-conv classifier, in the reference's fp32 requantization.
//
// Node names are the reference's layer paths ("first_conv", "blocks.3.pointwise1", "blocks.3.residual",
// "feature_mix", "avgpool", "classifier"), so the reference's conv numbering (conv nodes in order, classifier
// excluded) and its dump stage names can be derived from the graph alone (see compiler/layer_view.h).
#pragma once

#include "core/status.h"
#include "ir/graph.h"
#include "model/model.h"

namespace tte {

// resolution > 0 builds the graph for a square input of that size instead of the model's own (the .pkl
// networks are fully convolutional up to the global pool). Fails, naming the layer, if the input is too small or
// consecutive layers disagree on a scale or zero point.
Result<ir::Graph> GraphFromModel(const Model& m, int resolution = 0);

}  // namespace tte
