// libFuzzer target of the zip reader (model files, .npz). Every entry of an archive that opens is read;
// when all read, the same names and contents written by tte's zip writer open and read back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto zip = tte::ZipReader::Open(std::vector<uint8_t>(data, data + size), "fuzz.zip");
  if (!zip.ok()) return 0;
  (void)zip->Find("data.pkl");
  std::vector<std::vector<uint8_t>> contents;
  for (const tte::ZipEntry& e : zip->entries()) {
    auto r = zip->Read(e);
    if (!r.ok()) return 0;
    if (r->size() != e.uncompressed_size) std::abort();
    contents.push_back(std::move(*r));
  }
  tte::ZipWriter w;
  for (size_t i = 0; i < contents.size(); ++i) w.Add(zip->entries()[i].name, contents[i]);
  auto back = tte::ZipReader::Open(w.Finish(), "roundtrip.zip");
  if (!back.ok() || back->entries().size() != contents.size()) std::abort();
  for (size_t i = 0; i < contents.size(); ++i) {
    auto r = back->Read(back->entries()[i]);
    if (!r.ok() || *r != contents[i] || back->entries()[i].name != zip->entries()[i].name) std::abort();
  }
  return 0;
}
