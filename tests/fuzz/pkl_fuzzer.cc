// libFuzzer target of model import. Bytes starting with "PK" go through the whole .pkl path (zip
// container, pickle, schema); anything else goes to the pickle reader and the schema directly (a
// mutated zip rarely passes its CRC check, so this is where the model builder gets its coverage).
// Properties besides "no crash, hang or leak": what parses and serialises parses again to the same
// thing (the pickle writer and the model writer are each a fixed point after one round).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "model/pickle.h"
#include "model/pkl_io.h"

namespace {

// The model writer's round trip: a model that parsed serialises to a file that parses to a model
// that serialises to the same bytes.
void CheckModelRoundTrip(const tte::Model& m) {
  const std::vector<uint8_t> once = tte::SerializeModelFile(m);
  auto back = tte::ParseModelFile(once, "roundtrip.pkl");
  if (!back.ok() || tte::SerializeModelFile(*back) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    auto m = tte::ParseModelFile(std::move(bytes), "fuzz.pkl");
    if (m.ok()) CheckModelRoundTrip(*m);
    return 0;
  }
  auto root = tte::pickle::Load(bytes, "fuzz");
  if (!root.ok()) return 0;
  // The pickle writer's round trip.
  const std::vector<uint8_t> once = tte::pickle::Dump(**root);
  auto again = tte::pickle::Load(once, "roundtrip");
  if (!again.ok() || tte::pickle::Dump(**again) != once) std::abort();
  auto m = tte::ModelFromPickle(**root, "fuzz");
  if (m.ok()) CheckModelRoundTrip(*m);
  return 0;
}
