// libFuzzer target for TFLite import: every input goes through the reader (ParseModelFile); what
// parses must round-trip through the writer (parse(write(m)) holds the same model as m, or the
// writer refuses with kUnsupported because the reader did not keep something) and is then imported
// (ImportModelFile: the graph builder and ir::Verify). Any crash, sanitizer report, leak or broken
// round trip is a failure. At exit it prints how far inputs got; run_tflite_fuzz.sh checks that
// graphs were built.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "import/tflite/importer.h"
#include "import/tflite/model_file.h"
#include "import/tflite/writer.h"

namespace {

struct Counters {
  uint64_t inputs = 0, parsed = 0, rewritten = 0, builder_reached = 0, graphs = 0;
} g_counters;

void PrintCounters() {
  const Counters& c = g_counters;
  std::fprintf(
      stderr,
      "tflite_fuzzer: %llu inputs, %llu parsed, %llu rewritten and re-read equal, %llu reached "
      "the graph builder's ops, graphs built: %llu\n",
      static_cast<unsigned long long>(c.inputs), static_cast<unsigned long long>(c.parsed),
      static_cast<unsigned long long>(c.rewritten),
      static_cast<unsigned long long>(c.builder_reached),
      static_cast<unsigned long long>(c.graphs));
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "tflite_fuzzer: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(PrintCounters);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tte;
  ++g_counters.inputs;
  auto m = tflite::ParseModelFile(std::vector<uint8_t>(data, data + size), "fuzz.tflite");
  if (!m.ok()) return 0;
  ++g_counters.parsed;

  auto bytes = tflite::WriteModelFile(*m);
  if (bytes.ok()) {
    auto back = tflite::ParseModelFile(*bytes, "rewritten.tflite");
    if (!back.ok()) Fail("the writer's output does not parse: " + back.status().ToString());
    const std::string diff = tflite::FirstDifference(*m, *back);
    if (!diff.empty()) Fail("write + parse changed the model: " + diff);
    ++g_counters.rewritten;
  } else if (bytes.status().code() != StatusCode::kUnsupported) {
    Fail("the writer refused a model the reader accepted: " + bytes.status().ToString());
  }

  auto g = tflite::ImportModelFile(*m);
  if (g.ok()) {
    ++g_counters.graphs;
    ++g_counters.builder_reached;
    (void)ir::ToText(*g);
  } else if (g.status().message().find(": op ") != std::string::npos ||
             g.status().message().find(": node ") != std::string::npos) {
    ++g_counters.builder_reached;  // refused by an op builder or by ir::Verify
  }
  return 0;
}
