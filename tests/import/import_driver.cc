// tte_import_driver MODEL [OUT]: a tiny driver of the importers for tests. Imports MODEL (.tflite
// or .pkl, ImportModel) and prints its graph (ir::ToText), or writes it to OUT atomically. On any
// error it prints the message to stderr, writes nothing and exits 1.
#include <cstdio>
#include <string>

#include "core/file_io.h"
#include "import/model_file.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: tte_import_driver MODEL [OUT]\n");
    return 2;
  }
  auto g = tte::ImportModel(argv[1]);
  if (!g.ok()) {
    std::fprintf(stderr, "error: %s\n", g.status().message().c_str());
    return 1;
  }
  const std::string text = tte::ir::ToText(g->graph);
  if (argc == 3) {
    tte::Status s = tte::WriteFileAtomic(argv[2], text);
    if (!s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      return 1;
    }
    return 0;
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}
