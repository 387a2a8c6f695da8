// Byte sizes as people write them: parsing budgets ("256KB") and formatting sizes for reports and messages.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace tte {

// "256KB", "256K", "256KiB", "262144", "262144B", "0.25MB", "1M": K = 1024 bytes, M = 1024 K (the paper's
// KB). Case-insensitive; rejects negatives, fractions of a byte and anything else.
Result<int64_t> ParseByteSize(const std::string& text);

// "123,456 B" and "120.6 KB".
std::string FormatBytes(int64_t bytes);
std::string FormatKb(int64_t bytes);

}  // namespace tte
