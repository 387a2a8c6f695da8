// Writing TFLite files: a whole ModelFile rebuilt with flatbuffers' builder, and the export
// primitive of the training side (the original file with some buffers replaced by same-size bytes).
//
//   ModelFile m = ...;                                   // ReadModelFile, then edits:
//   m.SetBufferData(w, new_weights);                     // any size (a head with a new class
//   count) m.subgraphs[0].tensors[t].shape = {10, 64};          //   ... and the shapes that go
//   with it m.AddMetadata("class_names", bytes); TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> out,
//   WriteModelFile(m));
//
// WriteModelFile validates the ModelFile first (ValidateModelFile) and writes only what ModelFile
// keeps: a file whose reader left something behind (sparsity, quantization details, options of an
// op tte does not read, external buffers) is refused with the reason, never written without it.
// For every file it writes, ParseModelFile(WriteModelFile(m)) holds the same model as m
// (FirstDifference == ""); tests and the fuzzer check this.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "import/tflite/model_file.h"

namespace tte::tflite {

struct WriteOptions {
  // Store buffer data after the flatbuffer, referenced by Buffer.offset/size (TFLite's layout for
  // models above 2 GB; here for tests of the reader). Default: inline, 16-byte aligned.
  bool buffers_outside = false;
  // Run ValidateModelFile first (tests turn it off to write deliberately broken files).
  bool validate = true;
};

// OK if WriteModelFile can write `m` without losing anything the file held; else names what.
Status CheckWritable(const ModelFile& m);

Result<std::vector<uint8_t>> WriteModelFile(const ModelFile& m, const WriteOptions& options = {});

struct BufferReplacement {
  uint32_t buffer = 0;
  std::vector<uint8_t> data;  // exactly as many bytes as the buffer holds
};
// The file `m` was read from (m.bytes) with the listed buffers overwritten in place: every other
// byte is identical. Refuses a size change (use WriteModelFile) and buffers already edited in `m`.
Result<std::vector<uint8_t>> ReplaceBuffers(const ModelFile& m,
                                            const std::vector<BufferReplacement>& replacements);

}  // namespace tte::tflite
