// Safe pickle reader (see pickle.h); the writer is pickle_writer.cc.
#include "model/pickle.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/limits.h"

namespace tte::pickle {
namespace {

using limits::kMaxArrayElements;

PyPtr Make(PyType t) {
  auto v = std::make_shared<PyValue>();
  v->type = t;
  return v;
}

// Calls f(code point) for each code point of UTF-8 text; false on malformed input (nothing is allocated:
// model files carry their arrays as latin-1 text of up to megabytes).
template <typename F>
bool ForEachCodePoint(const std::string& s, F&& f) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    uint32_t cp;
    int extra;
    if (c < 0x80) { cp = c; extra = 0; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; extra = 1; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; extra = 2; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; extra = 3; }
    else return false;
    if (extra > 0 && i + static_cast<size_t>(extra) >= n) return false;  // continuation bytes missing
    for (int k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    f(cp);
    i += 1 + extra;
  }
  return true;
}

bool DTypeFromNumpyName(const std::string& name, DType* t) {
  static const std::pair<const char*, DType> kTable[] = {
      {"i1", DType::kInt8}, {"u1", DType::kUInt8}, {"i2", DType::kInt16}, {"u2", DType::kUInt16}, {"i4", DType::kInt32},
      {"i8", DType::kInt64}, {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"b1", DType::kBool}};
  for (const auto& [n, d] : kTable)
    if (name == n) {
      *t = d;
      return true;
    }
  return false;
}

class Unpickler {
 public:
  Unpickler(const std::vector<uint8_t>& d, std::string label) : d_(d), label_(std::move(label)) {}

  Result<PyPtr> Run() {
    while (true) {
      if (pos_ >= d_.size()) return Err("truncated pickle (no STOP opcode)");
      op_pos_ = pos_;
      uint8_t op = d_[pos_++];
      if (op == '.') {
        if (stack_.size() != 1) return Err("STOP with " + std::to_string(stack_.size()) + " values on the stack");
        TTE_RETURN_IF_ERROR(CheckFinished(stack_.back()));
        return stack_.back();
      }
      Status s = Step(op);
      if (!s.ok()) return s;
      if (stack_.size() > limits::kMaxPickleStack)
        return Err("more than " + std::to_string(limits::kMaxPickleStack) + " values on the stack");
      if (created_ > limits::kMaxPickleValues)
        return Err("more than " + std::to_string(limits::kMaxPickleValues) + " values");
    }
  }

 private:
  Status Err(const std::string& msg) const {
    return DataLoss(label_ + ": pickle byte " + std::to_string(op_pos_) + ": " + msg);
  }
  bool Need(size_t n) const { return d_.size() - pos_ >= n; }
  PyPtr New(PyType t) {
    ++created_;
    return Make(t);
  }
  uint64_t ReadLe(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(d_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  Status Push(PyPtr v) {
    stack_.push_back(std::move(v));
    return Status::Ok();
  }
  Result<PyPtr> Pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) return Err("stack underflow");
    PyPtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Result<std::vector<PyPtr>> PopMark() {
    if (marks_.empty()) return Err("missing MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyPtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  // Puts `item` inside `container` (a tuple being built, or a list or dict not yet inside another
  // container): the item can no longer change, and the container's depth grows to cover it.
  Status Contain(PyValue* container, const PyPtr& item) {
    if (item.get() == container) return Err(std::string("a ") + container->TypeName() + " inside itself (reference cycle)");
    item->contained = true;
    container->depth = std::max(container->depth, item->depth + 1);
    if (container->depth > limits::kMaxPickleDepth)
      return Err("containers nested more than " + std::to_string(limits::kMaxPickleDepth) + " deep");
    return Status::Ok();
  }
  // The list or dict on top of the stack, which APPEND(S) / SETITEM(S) are about to change.
  Result<PyValue*> Mutable(PyType type, const char* op) {
    if (stack_.empty() || stack_.back()->type != type)
      return Err(std::string(op) + " to something that is not a " + (type == PyType::kList ? "list" : "dict"));
    PyValue* v = stack_.back().get();
    if (v->contained)
      return Err(std::string(op) + " to a " + v->TypeName() +
                 " that is already inside another container (a reference cycle, or not written by Python's pickler)");
    return v;
  }
  // Tuples of any size: the items are contained from now on.
  Result<PyPtr> MakeTuple(std::vector<PyPtr> items) {
    PyPtr v = New(PyType::kTuple);
    for (const auto& x : items) TTE_RETURN_IF_ERROR(Contain(v.get(), x));
    v->items = std::move(items);
    return v;
  }
  // Keys of a dict being filled, so that SETITEMS replaces a repeated key in constant time.
  static std::string KeyOf(const PyValue& k) {
    return k.type == PyType::kStr ? "s" + k.s : "i" + std::to_string(k.i);
  }
  // Refuses internal values (globals, dtypes, arrays never built) left in the finished tree. Iterative,
  // each shared value visited once.
  Status CheckFinished(const PyPtr& root) const {
    std::vector<const PyValue*> todo = {root.get()};
    std::unordered_set<const PyValue*> seen;
    while (!todo.empty()) {
      const PyValue* v = todo.back();
      todo.pop_back();
      if (!seen.insert(v).second) continue;
      const char* what = v->type == PyType::kGlobal ? "a bare global"
                         : v->type == PyType::kDType  ? "a bare numpy.dtype"
                         : v->type == PyType::kArray && v->i != 0 ? "an ndarray that was never built (no BUILD)"
                                                                   : nullptr;
      if (what) return Err(std::string("the result holds ") + what + "; only plain values and arrays may remain");
      for (const auto& c : v->items) todo.push_back(c.get());
      for (const auto& [k, c] : v->dict) todo.push_back(c.get());
    }
    return Status::Ok();
  }
  Status ReadString(size_t len_bytes, PyType type) {
    if (!Need(len_bytes)) return Err("truncated length");
    uint64_t n = ReadLe(static_cast<int>(len_bytes));
    if (!Need(n)) return Err("string of " + std::to_string(n) + " bytes runs past the end");
    PyPtr v = New(type);
    v->s.assign(reinterpret_cast<const char*>(&d_[pos_]), n);
    pos_ += n;
    if (type == PyType::kStr && !ForEachCodePoint(v->s, [](uint32_t) {})) return Err("invalid UTF-8 in string");
    return Push(v);
  }
  Status Memoize(uint64_t idx) {
    if (stack_.empty()) return Err("memo store with empty stack");
    if (memo_.size() >= limits::kMaxPickleMemo && !memo_.count(idx))
      return Err("more than " + std::to_string(limits::kMaxPickleMemo) + " memo entries");
    memo_[idx] = stack_.back();
    return Status::Ok();
  }
  Status Get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) return Err("memo key " + std::to_string(idx) + " not defined");
    return Push(it->second);
  }
  Status Global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    static const char* kAllowed[] = {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                                     "numpy.ndarray", "numpy.dtype", "_codecs.encode"};
    for (const char* a : kAllowed)
      if (full == a) {
        PyPtr g = New(PyType::kGlobal);
        g->s = full;
        return Push(g);
      }
    return Err("unexpected pickle global '" + full +
               "' (a model file may only use numpy arrays and plain Python values)");
  }
  Status Reduce() {
    TTE_ASSIGN_OR_RETURN(PyPtr args, Pop());
    TTE_ASSIGN_OR_RETURN(PyPtr fn, Pop());
    if (fn->type != PyType::kGlobal) return Err(std::string("REDUCE on a ") + fn->TypeName() + ", not a callable");
    if (args->type != PyType::kTuple) return Err("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    if (fn->s == "_codecs.encode") {
      if (a.size() != 2 || a[0]->type != PyType::kStr || a[1]->type != PyType::kStr)
        return Err("_codecs.encode expects (str, encoding)");
      if (a[1]->s != "latin1" && a[1]->s != "latin-1") return Err("_codecs.encode: unsupported encoding '" + a[1]->s + "'");
      size_t count = 0;  // the whole text is checked first, then converted
      if (!ForEachCodePoint(a[0]->s, [&](uint32_t) { ++count; })) return Err("invalid UTF-8 in _codecs.encode argument");
      PyPtr out = New(PyType::kBytes);
      out->s.reserve(count);
      bool latin1 = true;
      ForEachCodePoint(a[0]->s, [&](uint32_t cp) {
        latin1 = latin1 && cp <= 255;
        if (latin1) out->s += static_cast<char>(cp);
      });
      if (!latin1) return Err("_codecs.encode: code point above 255 cannot be latin-1");
      return Push(out);
    }
    if (fn->s == "numpy.dtype") {
      if (a.empty() || a[0]->type != PyType::kStr) return Err("numpy.dtype expects a type name");
      PyPtr out = New(PyType::kDType);
      std::string name = a[0]->s;
      if (!DTypeFromNumpyName(name, &out->array.dtype)) return Err("unsupported numpy dtype '" + name + "'");
      return Push(out);
    }
    if (fn->s == "numpy.ndarray") return Err("numpy.ndarray called directly (expected via _reconstruct)");
    // _reconstruct(ndarray, (0,), b'b')
    if (a.size() != 3 || a[0]->type != PyType::kGlobal || a[0]->s != "numpy.ndarray")
      return Err("_reconstruct expects (numpy.ndarray, shape, typecode)");
    PyPtr out = New(PyType::kArray);
    out->i = -1;  // not yet built
    return Push(out);
  }
  Status Build() {
    TTE_ASSIGN_OR_RETURN(PyPtr state, Pop());
    if (stack_.empty()) return Err("BUILD with empty stack");
    PyPtr obj = stack_.back();
    if (obj->type == PyType::kDType) {
      if (state->type != PyType::kTuple || state->items.size() < 2 || state->items[1]->type != PyType::kStr)
        return Err("bad numpy.dtype state");
      const std::string& order = state->items[1]->s;
      if (order == ">" && DTypeSize(obj->array.dtype) > 1) return Unsupported(label_ + ": big-endian arrays");
      return Status::Ok();
    }
    if (obj->type != PyType::kArray || obj->i != -1) return Err(std::string("BUILD on a ") + obj->TypeName());
    if (state->type != PyType::kTuple || state->items.size() != 5) return Err("ndarray state is not a 5-tuple");
    const auto& st = state->items;
    if (st[1]->type != PyType::kTuple) return Err("ndarray shape is not a tuple");
    if (st[2]->type != PyType::kDType) return Err("ndarray dtype is not a numpy.dtype");
    if (st[3]->type != PyType::kBool) return Err("ndarray fortran flag is not a bool");
    if (st[3]->b) return Unsupported(label_ + ": Fortran-order arrays");
    if (st[4]->type != PyType::kBytes && st[4]->type != PyType::kStr) return Err("ndarray data is not bytes");
    Tensor t;
    t.dtype = st[2]->array.dtype;
    int64_t n = 1;
    for (const auto& d : st[1]->items) {
      if (d->type != PyType::kInt || d->i < 0 || d->i > kMaxArrayElements) return Err("bad ndarray dimension");
      t.shape.push_back(d->i);
      if (d->i != 0 && n > kMaxArrayElements / d->i)
        return Err("ndarray of more than " + std::to_string(kMaxArrayElements) + " elements");
      n *= d->i;
    }
    const std::string& raw = st[4]->s;
    if (static_cast<uint64_t>(raw.size()) != static_cast<uint64_t>(n) * DTypeSize(t.dtype))
      return Err("ndarray data has " + std::to_string(raw.size()) + " bytes, shape " + ShapeString(t.shape) + " of " +
                 DTypeName(t.dtype) + " needs " + std::to_string(n * static_cast<int64_t>(DTypeSize(t.dtype))));
    t.bytes.assign(raw.begin(), raw.end());
    obj->array = std::move(t);
    obj->i = 0;
    return Status::Ok();
  }

  Status Step(uint8_t op) {
    switch (op) {
      case 0x80:  // PROTO
        if (!Need(1)) return Err("truncated PROTO");
        if (d_[pos_] > 5) return Err("unsupported pickle protocol " + std::to_string(d_[pos_]));
        ++pos_;
        return Status::Ok();
      case 0x95:  // FRAME
        if (!Need(8)) return Err("truncated FRAME");
        pos_ += 8;
        return Status::Ok();
      case '(':
        marks_.push_back(stack_.size());
        return Status::Ok();
      case '}': return Push(New(PyType::kDict));
      case ']': return Push(New(PyType::kList));
      case ')': return Push(New(PyType::kTuple));
      case 'N': return Push(New(PyType::kNone));
      case 0x88: case 0x89: {
        PyPtr v = New(PyType::kBool);
        v->b = op == 0x88;
        return Push(v);
      }
      case 'K': case 'M': case 'J': {
        int n = op == 'K' ? 1 : op == 'M' ? 2 : 4;
        if (!Need(n)) return Err("truncated integer");
        uint64_t raw = ReadLe(n);
        PyPtr v = New(PyType::kInt);
        v->i = op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(raw)) : static_cast<int64_t>(raw);
        return Push(v);
      }
      case 0x8a: {  // LONG1
        if (!Need(1)) return Err("truncated LONG1");
        uint8_t n = d_[pos_++];
        if (n > 8) return Err("integer wider than 64 bits");
        if (!Need(n)) return Err("truncated LONG1");
        uint64_t raw = ReadLe(n);
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
        PyPtr v = New(PyType::kInt);
        v->i = static_cast<int64_t>(raw);
        return Push(v);
      }
      case 'G': {
        if (!Need(8)) return Err("truncated BINFLOAT");
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | d_[pos_ + k];
        pos_ += 8;
        PyPtr v = New(PyType::kFloat);
        std::memcpy(&v->f, &bits, 8);
        return Push(v);
      }
      case 'X': return ReadString(4, PyType::kStr);
      case 0x8c: return ReadString(1, PyType::kStr);
      case 0x8d: return ReadString(8, PyType::kStr);
      case 'B': return ReadString(4, PyType::kBytes);
      case 'C': return ReadString(1, PyType::kBytes);
      case 0x8e: return ReadString(8, PyType::kBytes);
      case 0x85: case 0x86: case 0x87: {
        size_t n = op - 0x84;
        if (stack_.size() < n + (marks_.empty() ? 0 : marks_.back())) return Err("stack underflow in TUPLEn");
        std::vector<PyPtr> items(stack_.end() - n, stack_.end());
        stack_.resize(stack_.size() - n);
        TTE_ASSIGN_OR_RETURN(PyPtr v, MakeTuple(std::move(items)));
        return Push(v);
      }
      case 't': {
        TTE_ASSIGN_OR_RETURN(auto items, PopMark());
        TTE_ASSIGN_OR_RETURN(PyPtr v, MakeTuple(std::move(items)));
        return Push(v);
      }
      case 'a': case 'e': {
        std::vector<PyPtr> items;
        if (op == 'a') {
          TTE_ASSIGN_OR_RETURN(PyPtr x, Pop());
          items.push_back(x);
        } else {
          TTE_ASSIGN_OR_RETURN(items, PopMark());
        }
        TTE_ASSIGN_OR_RETURN(PyValue* list, Mutable(PyType::kList, op == 'a' ? "APPEND" : "APPENDS"));
        for (auto& x : items) {
          TTE_RETURN_IF_ERROR(Contain(list, x));
          list->items.push_back(x);
        }
        return Status::Ok();
      }
      case 's': case 'u': {
        std::vector<PyPtr> items;
        if (op == 's') {
          TTE_ASSIGN_OR_RETURN(PyPtr v, Pop());
          TTE_ASSIGN_OR_RETURN(PyPtr k, Pop());
          items = {k, v};
        } else {
          TTE_ASSIGN_OR_RETURN(items, PopMark());
        }
        if (items.size() % 2) return Err("SETITEMS with an odd number of values");
        TTE_ASSIGN_OR_RETURN(PyValue* dict, Mutable(PyType::kDict, op == 's' ? "SETITEM" : "SETITEMS"));
        DictKeys& index = dict_keys_[dict];
        if (!index.dict) index.dict = stack_.back();
        for (size_t k = 0; k < items.size(); k += 2) {
          const auto& key = items[k];
          if (key->type != PyType::kStr && key->type != PyType::kInt) return Err("dict key is not a str or int");
          TTE_RETURN_IF_ERROR(Contain(dict, key));
          TTE_RETURN_IF_ERROR(Contain(dict, items[k + 1]));
          auto [it, added] = index.keys.emplace(KeyOf(*key), dict->dict.size());
          if (added) dict->dict.emplace_back(key, items[k + 1]);
          else dict->dict[it->second].second = items[k + 1];  // a repeated key keeps its place, takes the new value
        }
        return Status::Ok();
      }
      case 'q':
        if (!Need(1)) return Err("truncated BINPUT");
        return Memoize(ReadLe(1));
      case 'r':
        if (!Need(4)) return Err("truncated LONG_BINPUT");
        return Memoize(ReadLe(4));
      case 0x94: return Memoize(memo_.size());
      case 'h':
        if (!Need(1)) return Err("truncated BINGET");
        return Get(ReadLe(1));
      case 'j':
        if (!Need(4)) return Err("truncated LONG_BINGET");
        return Get(ReadLe(4));
      case 'c': {
        std::string parts[2];
        for (auto& part : parts) {
          size_t nl = pos_;
          while (nl < d_.size() && d_[nl] != '\n' && nl - pos_ < 256) ++nl;
          if (nl >= d_.size() || d_[nl] != '\n') return Err("truncated GLOBAL");
          part.assign(reinterpret_cast<const char*>(&d_[pos_]), nl - pos_);
          pos_ = nl + 1;
        }
        return Global(parts[0], parts[1]);
      }
      case 0x93: {  // STACK_GLOBAL
        TTE_ASSIGN_OR_RETURN(PyPtr name, Pop());
        TTE_ASSIGN_OR_RETURN(PyPtr module, Pop());
        if (name->type != PyType::kStr || module->type != PyType::kStr) return Err("STACK_GLOBAL needs two strings");
        return Global(module->s, name->s);
      }
      case 'R': return Reduce();
      case 'b': return Build();
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        return Err(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  const std::vector<uint8_t>& d_;
  std::string label_;
  size_t pos_ = 0, op_pos_ = 0;
  std::vector<PyPtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyPtr> memo_;
  // Keys of each dict SETITEM(S) filled, by position; holding the dict keeps its address from being reused.
  struct DictKeys {
    PyPtr dict;
    std::unordered_map<std::string, size_t> keys;
  };
  std::unordered_map<const PyValue*, DictKeys> dict_keys_;
  size_t created_ = 0;
};

}  // namespace

const PyValue* PyValue::Get(const std::string& key) const {
  if (type != PyType::kDict) return nullptr;
  for (const auto& [k, v] : dict)
    if (k->type == PyType::kStr && k->s == key) return v.get();
  return nullptr;
}

const char* PyValue::TypeName() const {
  switch (type) {
    case PyType::kNone: return "None";
    case PyType::kBool: return "bool";
    case PyType::kInt: return "int";
    case PyType::kFloat: return "float";
    case PyType::kStr: return "str";
    case PyType::kBytes: return "bytes";
    case PyType::kTuple: return "tuple";
    case PyType::kList: return "list";
    case PyType::kDict: return "dict";
    case PyType::kArray: return "ndarray";
    case PyType::kGlobal: return "global";
    case PyType::kDType: return "numpy.dtype";
  }
  return "?";
}

PyPtr None() { return Make(PyType::kNone); }
PyPtr Bool(bool v) { auto p = Make(PyType::kBool); p->b = v; return p; }
PyPtr Int(int64_t v) { auto p = Make(PyType::kInt); p->i = v; return p; }
PyPtr Float(double v) { auto p = Make(PyType::kFloat); p->f = v; return p; }
PyPtr Str(std::string v) { auto p = Make(PyType::kStr); p->s = std::move(v); return p; }
PyPtr Tuple(std::vector<PyPtr> items) { auto p = Make(PyType::kTuple); p->items = std::move(items); return p; }
PyPtr List(std::vector<PyPtr> items) { auto p = Make(PyType::kList); p->items = std::move(items); return p; }
PyPtr Dict(std::vector<std::pair<std::string, PyPtr>> items) {
  auto p = Make(PyType::kDict);
  for (auto& [k, v] : items) p->dict.emplace_back(Str(k), std::move(v));
  return p;
}
PyPtr Array(Tensor t) { auto p = Make(PyType::kArray); p->array = std::move(t); return p; }

Result<PyPtr> Load(const std::vector<uint8_t>& data, const std::string& label) {
  Unpickler u(data, label);
  TTE_ASSIGN_OR_RETURN(PyPtr v, u.Run());
  return v;
}

}  // namespace tte::pickle
