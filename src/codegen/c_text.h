// Small helpers for writing readable, exact C99 source text: identifiers from tensor names, C types of
// tensor dtypes, exact literals (fp32 as hexadecimal floating constants, so no decimal rounding can change a
// bit), and array initializers of raw tensor bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tte::codegen {

// "b3.pw1.out@p0,1" -> "b3_pw1_out_p0_1" (letters, digits and '_' only, no leading digit, no "__").
std::string CIdentifier(const std::string& name);

// C element type of a dtype: "int8_t", "uint16_t", "float", ...; "" for dtypes C has no type for (bool).
std::string CType(DType t);

// Exact C literal of one value: ints in decimal (INT32_MIN as "(-2147483647 - 1)"), fp32 as a hexadecimal
// floating constant with an f suffix ("0x1.99999ap-4f", "0x0p+0f"); infinities and NaNs through GCC
// builtins (every compiler tte targets is GCC or Clang).
std::string FloatLiteral(float v);
std::string DoubleLiteral(double v);

// The comma-separated initializer of an array of `dt` elements stored in `bytes` (little-endian, the
// layout of TensorInfo::init), `per_line` values per line, each line indented by `indent`.
Result<std::string> ArrayInitializer(DType dt, const std::vector<uint8_t>& bytes, int per_line, const std::string& indent);

// "[16,32,32]"
std::string ShapeText(const std::vector<int64_t>& shape);

// Escapes text for a C block comment ("*/" cannot appear inside one).
std::string CommentSafe(const std::string& text);

}  // namespace tte::codegen
