// Trained models to TFLite (`tte train --out m.tflite`, `tte export`; docs/export.md).
//
// Two steps, each testable alone:
//   1. TrainedGraph: the graph a training program was compiled from, with the trained conv / fully
//      connected weights and biases (from the executor, as ExportTrainedModel takes them) in its
//      constants and the fp32 head quantized into the int8 classifier node it replaced: weights
//      symmetric int8 per output channel if that classifier was per-channel, else per tensor (scale
//      max|W| / 127), int32 bias at x_scale * w_scale, output scale and zero point from the observed
//      logit range (as ExportTrainedModel), no fused activation; a new class count resizes the
//      classifier and the reshape / softmax after it. (.pkl models take the Model path instead:
//      ExportTrainedModel, then GraphFromModel.)
//   2. ExportTflite: a graph as .tflite bytes. A graph imported from a .tflite file is written back
//      into that file (re-read from g.source): every buffer the graph did not change keeps the file's
//      bytes (tflite::WriteBack). Any other graph (.pkl) becomes a complete new model
//      (tflite::ModelFileFromGraph), which computes tflite::WithTfliteArithmetic(g).
// Either way ImportModel(the file) + InferenceSession gives exactly the int8 logits InferenceSession
// gives for the graph in TFLite arithmetic (tests/runtime/export_tflite_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/program.h"
#include "ir/graph.h"
#include "runtime/executor.h"
#include "runtime/export.h"

namespace tte {

Result<ir::Graph> TrainedGraph(const ir::Graph& base, const Program& prog, const Executor& exec,
                               const std::vector<std::string>& class_names, LogitRange range);

struct TfliteExport {
  std::vector<uint8_t> bytes;
  std::string summary;  // one line for the CLI: what was rewritten, what was kept
};
// `out` names the file in messages.
Result<TfliteExport> ExportTflite(const ir::Graph& g, const std::string& out);

// True if `path` ends in ".tflite" (the export format is chosen by the output's extension).
bool IsTflitePath(const std::string& path);

}  // namespace tte
