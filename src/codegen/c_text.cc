// C source text helpers (see c_text.h).
#include "codegen/c_text.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tte::codegen {

std::string CIdentifier(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (ok) {
      out += c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out = "t_" + out;
  return out;
}

std::string CType(DType t) {
  switch (t) {
    case DType::kInt8: return "int8_t";
    case DType::kUInt8: return "uint8_t";
    case DType::kInt16: return "int16_t";
    case DType::kUInt16: return "uint16_t";
    case DType::kInt32: return "int32_t";
    case DType::kInt64: return "int64_t";
    case DType::kFloat32: return "float";
    case DType::kFloat64: return "double";
    case DType::kBool: return "";
  }
  return "";
}

std::string FloatLiteral(float v) {
  if (std::isnan(v)) return "__builtin_nanf(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inff()" : "(-__builtin_inff())";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(v));
  return buf;
}

std::string DoubleLiteral(double v) {
  if (std::isnan(v)) return "__builtin_nan(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inf()" : "(-__builtin_inf())";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string ValueText(DType dt, const uint8_t* p) {
  switch (dt) {
    case DType::kInt8: return std::to_string(Load<int8_t>(p));
    case DType::kUInt8: return std::to_string(Load<uint8_t>(p));
    case DType::kInt16: return std::to_string(Load<int16_t>(p));
    case DType::kUInt16: return std::to_string(Load<uint16_t>(p));
    case DType::kInt32: {
      const int32_t v = Load<int32_t>(p);
      return v == INT32_MIN ? "(-2147483647 - 1)" : std::to_string(v);
    }
    case DType::kInt64: {
      const int64_t v = Load<int64_t>(p);
      return v == INT64_MIN ? "(-9223372036854775807LL - 1)" : std::to_string(v) + "LL";
    }
    case DType::kFloat32: return FloatLiteral(Load<float>(p));
    case DType::kFloat64: return DoubleLiteral(Load<double>(p));
    case DType::kBool: return std::to_string(Load<uint8_t>(p));
  }
  return "0";
}

}  // namespace

Result<std::string> ArrayInitializer(DType dt, const std::vector<uint8_t>& bytes, int per_line,
                                     const std::string& indent) {
  const size_t es = DTypeSize(dt);
  if (es == 0 || bytes.size() % es != 0)
    return Internal("codegen: " + std::to_string(bytes.size()) + " bytes is not a whole number of " + DTypeName(dt) +
                    " elements");
  const size_t n = bytes.size() / es;
  std::string out;
  out.reserve(n * (dt == DType::kFloat32 ? 18 : 5));
  for (size_t i = 0; i < n; ++i) {
    if (i % static_cast<size_t>(per_line) == 0) out += (i ? ",\n" : "") + indent;
    else out += ", ";
    out += ValueText(dt, bytes.data() + i * es);
  }
  return out;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string CommentSafe(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '*' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "* /";
      ++i;
    } else if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      out += "/ *";
      ++i;
    } else if (text[i] == '\n') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace tte::codegen
