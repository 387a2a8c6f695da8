// Writing an edited ir::Graph back into the .tflite file it was imported from (the export of a
// model trained by tte): only what the graph changed is rewritten, everything else stays as the
// file had it.
//
//   TTE_ASSIGN_OR_RETURN(tflite::ModelFile m, tflite::ReadModelFile(g.source));
//   TTE_ASSIGN_OR_RETURN(tflite::WriteBackResult r, tflite::WriteBack(m, trained_graph));
//   WriteFileAtomic(out, r.bytes);
//
// Per node that came from the file (Node::source_op): the weights and bias in TFLite's layout
// (OIHW -> OHWI, depthwise -> [1,kh,kw,C*m], fully connected [out,C,H,W] -> [out, H*W*C] over the
// NHWC input), compared byte for byte with the file's buffers, replace them only if they differ;
// shapes, weight scales and output quantization the graph changed (a new head: class count, scales,
// output range) go into the tensor tables, with the fused activation that gives the node's range
// and the shapes of the ops after it (reshape, softmax). A buffer shared with another tensor is not
// overwritten: the edited tensor gets a new one. A bias the file lacks (the importer's zeros)
// becomes a new tensor when the graph's is not zero. Class names go into the "tte_class_names"
// metadata.
//
// When only buffer contents changed (same sizes, no table edits), the bytes are ReplaceBuffers'
// (the original file, those buffers overwritten in place); otherwise WriteModelFile rebuilds the
// file, every buffer the graph did not change holding the file's bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "import/tflite/model_file.h"
#include "ir/graph.h"

namespace tte::tflite {

struct WriteBackResult {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t>
      changed_buffers;    // buffers of the original file whose contents were replaced
  int new_buffers = 0;    // buffers added (shared buffers split, missing biases, metadata)
  bool in_place = false;  // true: ReplaceBuffers (tables untouched, same file layout)
};

// `g` must be an import of `m` (ImportModelFile), edited only in constants, quantization and the
// head's class count.
Result<WriteBackResult> WriteBack(const ModelFile& m, const ir::Graph& g);

}  // namespace tte::tflite
