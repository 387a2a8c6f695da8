// libFuzzer target of the .npy reader. Property: an array that parses serialises to a file that parses
// to the same dtype, shape and bytes, and serialises to the same file again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = tte::ParseNpy(std::vector<uint8_t>(data, data + size), "fuzz.npy");
  if (!t.ok()) return 0;
  if (static_cast<uint64_t>(t->numel()) * tte::DTypeSize(t->dtype) != t->bytes.size()) std::abort();
  const std::vector<uint8_t> once = tte::SerializeNpy(*t);
  auto back = tte::ParseNpy(once, "roundtrip.npy");
  if (!back.ok() || back->dtype != t->dtype || back->shape != t->shape || back->bytes != t->bytes ||
      tte::SerializeNpy(*back) != once)
    std::abort();
  return 0;
}
