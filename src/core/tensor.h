// Tensor: a host-side, owning, dense C-order array with a dtype and a shape.
// Used for I/O (npy, datasets, golden files) and by tools; the training runtime itself works on
// views into one planned arena, not on Tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tte {

enum class DType : uint8_t { kInt8, kUInt8, kInt16, kUInt16, kInt32, kInt64, kFloat32, kFloat64, kBool };

size_t DTypeSize(DType t);
const char* DTypeName(DType t);  // "int8", "float32", ...

std::string ShapeString(const std::vector<int64_t>& shape);  // "[1,3,128,128]"

struct Tensor {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  Tensor() = default;
  Tensor(DType t, std::vector<int64_t> s) : dtype(t), shape(std::move(s)) {
    bytes.assign(numel() * DTypeSize(dtype), 0);
  }

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(bytes.data());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
  template <typename T>
  static Tensor From(DType t, std::vector<int64_t> shape, const T* src) {
    Tensor out(t, std::move(shape));
    std::memcpy(out.bytes.data(), src, out.bytes.size());
    return out;
  }
};

}  // namespace tte
