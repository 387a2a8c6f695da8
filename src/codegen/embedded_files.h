// Files of the source tree embedded into tte at build time (src/codegen/embed_files.cmake): the portable
// kernel library (src/kernels/*.c, tte_kernels.h) and the firmware harness (firmware/harness/*,
// firmware/Makefile.template, firmware/tools/*), which `tte codegen` copies into every generated project.
#pragma once

#include <cstddef>
#include <string>

namespace tte::codegen {

struct EmbeddedFile {
  const char* source;   // path in the source tree, e.g. "src/kernels/conv_fwd.c"
  const char* project;  // path inside a generated project, e.g. "kernels/conv_fwd.c"
  const unsigned char* data;
  size_t size;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kNumEmbeddedFiles;

inline std::string EmbeddedText(const EmbeddedFile& f) {
  return std::string(reinterpret_cast<const char*>(f.data), f.size);
}

}  // namespace tte::codegen
