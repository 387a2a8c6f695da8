// libFuzzer target for model import: bytes starting with "PK" go through the whole .pkl path (zip
// container, pickle, schema validation); anything else is fed to the pickle reader and the schema
// directly (a fuzzer rarely gets past the zip CRC, so this is where most of the coverage comes from).
// Every input must end in a Result, never a crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/pickle.h"
#include "model/pkl_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    auto m = tte::ParseModelFile(std::move(bytes), "fuzz.pkl");
    if (m.ok()) (void)tte::SerializeModelFile(*m);
    return 0;
  }
  auto root = tte::pickle::Load(bytes, "fuzz");
  if (root.ok()) {
    auto m = tte::ModelFromPickle(**root, "fuzz");
    (void)tte::pickle::Dump(**root);
  }
  return 0;
}
