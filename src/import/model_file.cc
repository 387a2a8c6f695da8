// Model file dispatch (see model_file.h).
#include "import/model_file.h"

#include <cstdio>

#include "import/pkl/graph_from_model.h"
#include "import/tflite/importer.h"
#include "model/pkl_io.h"

namespace tte {
namespace {

// The first 8 bytes of a file (fewer if it is shorter); empty if it cannot be opened.
std::string Head(const std::string& path) {
  std::string h;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[8];
    h.assign(buf, std::fread(buf, 1, sizeof buf, f));
    std::fclose(f);
  }
  return h;
}

}  // namespace

Result<ImportedModel> ImportModel(const std::string& path, int resolution) {
  const std::string head = Head(path);
  ImportedModel m;
  if (head.size() >= 8 && head.compare(4, 4, "TFL3") == 0) {
    if (resolution > 0)
      return Unsupported(path + ": a TFLite model has fixed shapes: another input resolution does not apply");
    TTE_ASSIGN_OR_RETURN(m.graph, tflite::ImportTflite(path));
    return m;
  }
  TTE_ASSIGN_OR_RETURN(Model model, LoadModel(path));
  TTE_ASSIGN_OR_RETURN(m.graph, GraphFromModel(model, resolution));
  m.pkl = std::move(model);
  return m;
}

}  // namespace tte
