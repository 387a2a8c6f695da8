// Byte-size parsing and formatting (see byte_size.h).
#include "core/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tte {

Result<int64_t> ParseByteSize(const std::string& text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::toupper(c));
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  const std::string num = s.substr(0, i), unit = s.substr(i);
  auto bad = [&] {
    return InvalidArgument("'" + text + "' is not a byte size (examples: 256KB, 256K, 262144, 0.25MB)");
  };
  if (num.empty() || num.find('.') != num.rfind('.')) return bad();
  double scale;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB") scale = 1024;
  else if (unit == "M" || unit == "MB" || unit == "MIB") scale = 1024.0 * 1024.0;
  else return bad();
  const double v = std::strtod(num.c_str(), nullptr) * scale;
  if (!(v > 0) || v > 1e15 || std::abs(v - std::round(v)) > 1e-6)
    return InvalidArgument("'" + text + "': a budget must be a positive whole number of bytes");
  return static_cast<int64_t>(std::llround(v));
}

std::string FormatBytes(int64_t bytes) {
  std::string digits = std::to_string(bytes < 0 ? -bytes : bytes), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (bytes < 0 ? "-" : "") + out + " B";
}

std::string FormatKb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f KB", bytes / 1024.0);
  return buf;
}

}  // namespace tte
