// A small, safe Python-pickle reader and writer for the MCUNetV3 model files.
//
// Reading builds a tree of PyValue (None, bool, int, float, str, bytes, tuple, list, dict, numpy
// array). Only four globals are honoured, exactly those a torch.save of numpy arrays uses:
// numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype and _codecs.encode; any other global
// is refused by name. Protocols 2-4 are accepted. The reader never trusts its input: every opcode
// argument is bounds-checked; nesting depth, value count, stack and memo are capped (core/limits.h);
// errors name the byte offset. Values are built bottom-up as Python's pickler writes them: a list or
// dict can no longer change once it sits inside another container, which rules out reference cycles
// and keeps each value's depth final, so every walk of a loaded tree (destruction, Dump) is bounded.
//
// Writing emits protocol 2 in the same shape Python itself writes for these objects, so
// `pickle.load` (with numpy installed) restores identical dicts and arrays.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tte::pickle {

struct PyValue;
using PyPtr = std::shared_ptr<PyValue>;

enum class PyType { kNone, kBool, kInt, kFloat, kStr, kBytes, kTuple, kList, kDict, kArray,
                    // internal (never in a finished tree):
                    kGlobal, kDType };

struct PyValue {
  PyType type = PyType::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                                  // str (UTF-8), bytes, or global name "module.name"
  std::vector<PyPtr> items;                       // tuple, list
  std::vector<std::pair<PyPtr, PyPtr>> dict;      // insertion-ordered
  Tensor array;                                   // kArray; kDType: array.dtype holds the dtype
  // Set by Load: containers nested below this value (0 for scalars and arrays), and whether it already
  // sits inside a container (a list or dict inside one can no longer change).
  int depth = 0;
  bool contained = false;

  // Dict lookup by string key; nullptr if absent or not a dict.
  const PyValue* Get(const std::string& key) const;
  const char* TypeName() const;
};

PyPtr None();
PyPtr Bool(bool v);
PyPtr Int(int64_t v);
PyPtr Float(double v);
PyPtr Str(std::string v);
PyPtr Tuple(std::vector<PyPtr> items);
PyPtr List(std::vector<PyPtr> items);
PyPtr Dict(std::vector<std::pair<std::string, PyPtr>> items);
PyPtr Array(Tensor t);

// Parses a pickle byte stream. `label` prefixes error messages (e.g. "model.pkl:archive/data.pkl").
// The result holds only non-internal types and nests at most limits::kMaxPickleDepth deep.
Result<PyPtr> Load(const std::vector<uint8_t>& data, const std::string& label);
// Serializes with protocol 2. Supported: every non-internal PyType. Recursive: meant for trees that Load
// produced or that code built (the depth of either is bounded).
std::vector<uint8_t> Dump(const PyValue& v);

}  // namespace tte::pickle
