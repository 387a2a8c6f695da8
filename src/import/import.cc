// ImportModel: dispatch on the file extension to the .tflite or .pkl importer.
#include "import/import.h"

#include "import/pkl/graph_from_model.h"
#include "import/tflite/importer.h"
#include "model/pkl_io.h"

namespace tte {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<ir::Graph> ImportModel(const std::string& path) {
  if (EndsWith(path, ".tflite")) return tflite::ImportTflite(path);
  if (EndsWith(path, ".pkl")) {
    TTE_ASSIGN_OR_RETURN(Model m, LoadModel(path));
    TTE_ASSIGN_OR_RETURN(ir::Graph g, GraphFromModel(m));
    TTE_RETURN_IF_ERROR(ir::Verify(g));
    return g;
  }
  return Unsupported(path + ": unknown model format: expected a .tflite or .pkl file");
}

}  // namespace tte
