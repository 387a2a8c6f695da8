// ImportModel: any model file tte reads, as a verified ir::Graph, chosen by the file's extension:
// .tflite (TFLite int8 flatbuffer, import/tflite/importer.h) or .pkl (MCUNetV3 pickle,
// import/pkl/graph_from_model.h). Anything else is refused naming the extension.
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace tte {

Result<ir::Graph> ImportModel(const std::string& path);

}  // namespace tte
