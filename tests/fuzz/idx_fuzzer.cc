// libFuzzer target of the IDX reader (Fashion-MNIST files), gzip included: the bytes are decompressed
// when they start with the gzip magic (at most 64 MB here), then parsed as images and as labels.
// Property: a file that parses is exactly its header followed by its payload (IDX has one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "data/idx.h"

namespace {
void Be32(std::vector<uint8_t>* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto raw = tte::GunzipIfCompressed(std::vector<uint8_t>(data, data + size), "fuzz.gz", size_t{64} << 20);
  if (!raw.ok()) return 0;
  if (auto im = tte::ParseIdxImages(*raw, "fuzz-images"); im.ok()) {
    std::vector<uint8_t> again;
    Be32(&again, 0x803);
    Be32(&again, static_cast<uint32_t>(im->count));
    Be32(&again, static_cast<uint32_t>(im->rows));
    Be32(&again, static_cast<uint32_t>(im->cols));
    again.insert(again.end(), im->pixels.begin(), im->pixels.end());
    if (again != *raw) std::abort();
  }
  if (auto lb = tte::ParseIdxLabels(*raw, "fuzz-labels"); lb.ok()) {
    std::vector<uint8_t> again;
    Be32(&again, 0x801);
    Be32(&again, static_cast<uint32_t>(lb->size()));
    again.insert(again.end(), lb->begin(), lb->end());
    if (again != *raw) std::abort();
  }
  return 0;
}
