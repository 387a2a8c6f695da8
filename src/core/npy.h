// NumPy .npy / .npz reading and writing (C order, little-endian; the dtypes of tte::DType).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tte {

// Parses .npy bytes. `label` names the source in error messages.
Result<Tensor> ParseNpy(const std::vector<uint8_t>& bytes, const std::string& label);
std::vector<uint8_t> SerializeNpy(const Tensor& t);

Result<Tensor> ReadNpy(const std::string& path);

// An .npy file's header without its data: dtype, shape and the byte offset of the data, checked against
// the file's size with ParseNpy's checks and messages (to read the data on demand: data/sample_store.h).
struct NpyHeader {
  DType dtype = DType::kInt8;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;
};
Result<NpyHeader> ReadNpyHeader(const std::string& path);
Status WriteNpy(const std::string& path, const Tensor& t);  // atomic

// .npz: a zip of "<key>.npy" entries (stored or deflated).
Result<std::map<std::string, Tensor>> ReadNpz(const std::string& path);
Status WriteNpz(const std::string& path, const std::map<std::string, Tensor>& tensors);  // stored, atomic

}  // namespace tte
