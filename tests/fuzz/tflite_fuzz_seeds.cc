// tflite_fuzz_seeds DIR: writes the TFLite fuzzer's seed corpus into DIR, small complete valid
// models made by tte's own writer (tests/import/tflite_builder.h): the tiny model (under 8 KB, it
// reaches the graph builder and imports), the feature and head models, and the tiny model in the >2
// GB buffer layout.
#include <cstdio>
#include <string>

#include "core/file_io.h"
#include "import/tflite/writer.h"
#include "import/tflite_builder.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tflite_fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  tte::tflite::WriteOptions outside;
  outside.buffers_outside = true;
  struct Seed {
    const char* name;
    tte::Result<std::vector<uint8_t>> bytes;
  } seeds[] = {
      {"tiny.tflite", tte::testing::TinyModel().Bytes()},
      {"feature.tflite", tte::testing::FeatureModel().Bytes()},
      {"head.tflite", tte::testing::HeadModel().Bytes()},
      {"tiny-outside.tflite",
       tte::tflite::WriteModelFile(tte::testing::TinyModel().model(), outside)},
  };
  for (Seed& s : seeds) {
    if (!s.bytes.ok()) {
      std::fprintf(stderr, "tflite_fuzz_seeds: %s: %s\n", s.name,
                   s.bytes.status().ToString().c_str());
      return 1;
    }
    tte::Status st = tte::WriteFileAtomic(dir + "/" + s.name, *s.bytes);
    if (!st.ok()) {
      std::fprintf(stderr, "tflite_fuzz_seeds: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", s.name, s.bytes->size());
  }
  return 0;
}
