// The limits every tte reader enforces on untrusted input, in one place.
//
// A model, dataset, image or tensor file may come from anywhere, so every reader bounds what the
// input can make it do: how deep values nest (no recursion the input controls goes deeper), how many
// values it creates, and how much memory it allocates, which is at most a small multiple of the
// input's own size or the documented cap below. Exceeding a limit is an error that names the file and
// the byte offset or field; docs/bad-inputs.md lists each limit with the message it gives.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tte::limits {

// ---- pickle (the data.pkl of a model file; src/model/pickle.cc)
// Containers (tuple, list, dict) nested inside each other. A model file nests 6 deep.
inline constexpr int kMaxPickleDepth = 100;
// Values created while reading one pickle (each costs ~250 bytes; the paper's 2 MB models create ~5,000).
inline constexpr size_t kMaxPickleValues = size_t{1} << 20;
// Values on the unpickler's stack at once, and memo entries.
inline constexpr size_t kMaxPickleStack = size_t{1} << 20;
inline constexpr size_t kMaxPickleMemo = size_t{1} << 20;
// Elements of one numpy array (its bytes must be in the file as well).
inline constexpr int64_t kMaxArrayElements = int64_t{1} << 31;

// ---- model schema (src/model/pkl_io.cc)
// Blocks of a model (MCUNet and MobileNetV2 have 14-20). Every array may be used by one layer only,
// so the parameters a model holds never exceed the file's own size.
inline constexpr size_t kMaxModelBlocks = 1024;

// ---- zip (model files, .npz; src/core/zip.cc)
// Uncompressed size of one entry.
inline constexpr uint64_t kMaxZipEntryBytes = uint64_t{1} << 31;
// Deflate cannot expand data more than about 1032:1; a larger declared size is a lie.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

// ---- npy (src/core/npy.cc)
inline constexpr size_t kMaxNpyHeaderBytes = size_t{1} << 16;  // numpy itself refuses > 10,000 by default
inline constexpr int kMaxNpyDims = 32;                          // numpy's NPY_MAXDIMS

// ---- IDX and gzip (src/data/idx.cc)
// Decompressed size of one IDX file (Fashion-MNIST's largest is 47 MB).
inline constexpr size_t kMaxIdxBytes = size_t{1} << 31;

// ---- images (src/data/image.cc): width x height, checked from the header before decoding.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// ---- programs: one activation tensor (channels x height x width bytes; src/compiler/forward_builder.cc),
// and the one allocation of a program, arena + state (src/runtime/executor.cc). A model whose declared
// input size would need more is refused before anything is allocated.
inline constexpr int64_t kMaxActivationBytes = int64_t{1} << 28;
inline constexpr int64_t kMaxExecutorBytes = int64_t{1} << 30;

}  // namespace tte::limits
