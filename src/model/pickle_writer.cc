// Pickle writer: protocol 2, as Python writes dicts, lists and numpy arrays (see pickle.h).
#include "model/pickle.h"

#include <cstring>
#include <unordered_map>
#include <vector>

namespace tte::pickle {
namespace {

// Appends the UTF-8 encoding of code point cp.
void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

const char* NumpyName(DType t) {
  switch (t) {
    case DType::kInt8: return "i1";
    case DType::kUInt8: return "u1";
    case DType::kInt16: return "i2";
    case DType::kUInt16: return "u2";
    case DType::kInt32: return "i4";
    case DType::kInt64: return "i8";
    case DType::kFloat32: return "f4";
    case DType::kFloat64: return "f8";
    case DType::kBool: return "b1";
  }
  return "";
}


class Pickler {
 public:
  std::vector<uint8_t> out;

  // Finds the containers, arrays and strings reached more than once (a loaded pickle may share them
  // through its memo): each is written once and memoized, later references read the memo, so a tree
  // with sharing is written in size linear in its distinct values, as Python's pickler does. Trees
  // without sharing (everything tte builds) are written with no memo opcodes at all.
  void FindShared(const PyValue& root) {
    std::unordered_map<const PyValue*, int> seen;
    std::vector<const PyValue*> todo = {&root};
    while (!todo.empty()) {
      const PyValue* v = todo.back();
      todo.pop_back();
      if (++seen[v] > 1) {
        if (Memoizable(*v)) memo_.emplace(v, -1);
        continue;
      }
      for (const auto& c : v->items) todo.push_back(c.get());
      for (const auto& [k, c] : v->dict) {
        todo.push_back(k.get());
        todo.push_back(c.get());
      }
    }
  }

  void Op(uint8_t b) { out.push_back(b); }
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back((v >> (8 * i)) & 0xff);
  }
  void Unicode(const std::string& utf8) {
    Op('X');
    Le(utf8.size(), 4);
    out.insert(out.end(), utf8.begin(), utf8.end());
  }
  void GlobalRef(const char* module, const char* name) {
    Op('c');
    for (const char* p = module; *p; ++p) out.push_back(*p);
    Op('\n');
    for (const char* p = name; *p; ++p) out.push_back(*p);
    Op('\n');
  }
  void IntValue(int64_t v) {
    if (v >= 0 && v < 256) {
      Op('K');
      Le(v, 1);
    } else if (v >= 0 && v < 65536) {
      Op('M');
      Le(v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      Op('J');
      Le(static_cast<uint32_t>(v), 4);
    } else {
      Op(0x8a);
      int n = 8;
      while (n > 1) {  // shortest two's complement
        int64_t hi = v >> (8 * (n - 1) - 1);
        if (hi == 0 || hi == -1) --n; else break;
      }
      Op(static_cast<uint8_t>(n));
      Le(static_cast<uint64_t>(v), n);
    }
  }
  // bytes in protocol 2: _codecs.encode(<latin-1 str>, 'latin1')
  void Bytes(const std::string& raw) {
    GlobalRef("_codecs", "encode");
    std::string utf8;
    for (unsigned char c : raw) AppendUtf8(utf8, c);
    Unicode(utf8);
    Unicode("latin1");
    Op(0x86);
    Op('R');
  }
  void Array(const Tensor& t) {
    GlobalRef("numpy.core.multiarray", "_reconstruct");
    GlobalRef("numpy", "ndarray");
    IntValue(0);
    Op(0x85);
    Bytes("b");
    Op(0x87);
    Op('R');
    Op('(');
    IntValue(1);
    Op('(');
    for (int64_t d : t.shape) IntValue(d);
    Op('t');
    GlobalRef("numpy", "dtype");
    Unicode(NumpyName(t.dtype));
    Op(0x89);
    Op(0x88);
    Op(0x87);
    Op('R');
    Op('(');
    IntValue(3);
    Unicode(DTypeSize(t.dtype) == 1 ? "|" : "<");
    Op('N');
    Op('N');
    Op('N');
    IntValue(-1);
    IntValue(-1);
    IntValue(0);
    Op('t');
    Op('b');
    Op(0x89);
    Bytes(std::string(t.bytes.begin(), t.bytes.end()));
    Op('t');
    Op('b');
  }
  void Value(const PyValue& v) {
    auto shared = memo_.find(&v);
    if (shared != memo_.end() && shared->second >= 0) {  // written before: read it from the memo
      const auto idx = static_cast<uint32_t>(shared->second);
      if (idx < 256) {
        Op('h');
        Le(idx, 1);
      } else {
        Op('j');
        Le(idx, 4);
      }
      return;
    }
    Fresh(v);
    if (shared != memo_.end()) {
      const auto idx = static_cast<uint32_t>(next_memo_++);
      shared->second = static_cast<int>(idx);
      if (idx < 256) {
        Op('q');
        Le(idx, 1);
      } else {
        Op('r');
        Le(idx, 4);
      }
    }
  }

 private:
  static bool Memoizable(const PyValue& v) {
    switch (v.type) {
      case PyType::kStr: case PyType::kBytes: case PyType::kTuple: case PyType::kList: case PyType::kDict:
      case PyType::kArray:
        return true;
      default:
        return false;
    }
  }
  std::unordered_map<const PyValue*, int> memo_;  // shared value -> memo index (-1: not written yet)
  int next_memo_ = 0;

  void Fresh(const PyValue& v) {
    switch (v.type) {
      case PyType::kNone: Op('N'); break;
      case PyType::kBool: Op(v.b ? 0x88 : 0x89); break;
      case PyType::kInt: IntValue(v.i); break;
      case PyType::kFloat: {
        Op('G');
        uint64_t bits;
        std::memcpy(&bits, &v.f, 8);
        for (int k = 7; k >= 0; --k) out.push_back((bits >> (8 * k)) & 0xff);
        break;
      }
      case PyType::kStr: Unicode(v.s); break;
      case PyType::kBytes: Bytes(v.s); break;
      case PyType::kTuple:
        if (v.items.empty()) { Op(')'); break; }
        if (v.items.size() <= 3) {
          for (const auto& x : v.items) Value(*x);
          Op(static_cast<uint8_t>(0x84 + v.items.size()));
        } else {
          Op('(');
          for (const auto& x : v.items) Value(*x);
          Op('t');
        }
        break;
      case PyType::kList:
        Op(']');
        for (size_t k = 0; k < v.items.size(); k += 1000) {
          Op('(');
          for (size_t j = k; j < v.items.size() && j < k + 1000; ++j) Value(*v.items[j]);
          Op('e');
        }
        break;
      case PyType::kDict:
        Op('}');
        for (size_t k = 0; k < v.dict.size(); k += 1000) {
          Op('(');
          for (size_t j = k; j < v.dict.size() && j < k + 1000; ++j) {
            Value(*v.dict[j].first);
            Value(*v.dict[j].second);
          }
          Op('u');
        }
        break;
      case PyType::kArray: Array(v.array); break;
      case PyType::kGlobal:
      case PyType::kDType: Op('N'); break;  // never in a finished tree
    }
  }
};

}  // namespace

std::vector<uint8_t> Dump(const PyValue& v) {
  Pickler p;
  p.FindShared(v);
  p.Op(0x80);
  p.Op(2);
  p.Value(v);
  p.Op('.');
  return std::move(p.out);
}

}  // namespace tte::pickle
