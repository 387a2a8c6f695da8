// ImportModel: any model file tte reads, as an ir::Graph, plus what an exporter needs of the original.
//
//   .pkl     MCUNetV3 pickles (model/pkl_io.h -> import/pkl/graph_from_model.h); the Model is kept for export
//   .tflite  TFLite int8 flatbuffers
// The format is told by the file's first bytes (a zip for .pkl, the "TFL3" identifier for .tflite), not by its
// name; the message of an unknown or unreadable file names it.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "model/model.h"

namespace tte {

struct ImportedModel {
  ir::Graph graph;
  std::optional<Model> pkl;   // the .pkl's own structure (export back to .pkl)
};

// resolution > 0: compile a .pkl network for another square input size (TFLite models have fixed shapes: refused).
Result<ImportedModel> ImportModel(const std::string& path, int resolution = 0);

}  // namespace tte
