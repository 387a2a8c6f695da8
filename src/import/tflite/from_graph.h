// ir::Graph -> TFLite: a complete int8 flatbuffer model made from a graph that did not come from a
// .tflite file (the .pkl models), and the class-name metadata tte stores in every file it exports.
//
//   ir::Graph g = ...;                                          // e.g. GraphFromModel(trained
//   .pkl) TTE_ASSIGN_OR_RETURN(tflite::ModelFile m, tflite::ModelFileFromGraph(g, "out.tflite"));
//   TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, tflite::WriteModelFile(m));
//
// Ops: conv2d -> CONV_2D, depthwise_conv2d -> DEPTHWISE_CONV_2D (weights [1,kh,kw,C*m], scales
// along dim 3), fully_connected -> FULLY_CONNECTED, a 1x1 conv2d over a [C,1,1] input that gives
// the graph output (the .pkl classifier) -> FULLY_CONNECTED [out, C], add -> ADD, avg_pool2d ->
// AVERAGE_POOL_2D (a global pool: filter H x W, VALID), mean -> MEAN over H, W, reshape -> RESHAPE,
// pad -> PAD, softmax -> SOFTMAX; a classifier output of H = W = 1 gets a final SOFTMAX (beta 1,
// 1/256, -128). Weights per-channel (or per-tensor as the graph has them), int32 biases with the
// scale x_scale * w_scale[c] TFLite's converter writes, activation ranges as TFLite's fused NONE /
// RELU / RELU6 / RELU_N1_TO_1 (the one whose range at the output's quantization is the node's
// [act_min, act_max]; none matching: refused with the node's name). Window pads: SAME or VALID when
// they are what TFLite computes for them, else a PAD op (padding with the input's zero point, as
// tte's convs do) before a VALID conv.
//
// The file computes the graph in TFLite's integer arithmetic: WithTfliteArithmetic(g) is that graph
// in tte's terms (requant kTfliteInteger, global pools as windowed pools, scales rounded to the
// float32 the file stores), so importing the file gives exactly WithTfliteArithmetic(g)'s outputs
// (tests/runtime/export_tflite_test.cc).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "import/tflite/model_file.h"
#include "ir/graph.h"

namespace tte::tflite {

// Metadata entry holding the class names: UTF-8, one name per line, each ending in '\n'.
inline constexpr char kClassNamesMetadata[] = "tte_class_names";
// Metadata entry "minus128" when the model's 8-bit pixels become int8 as q = p - 128 whatever the
// input's scale (the .pkl models' convention, ir::PixelRule::kMinus128); the importer then sets
// that rule.
inline constexpr char kPixelRuleMetadata[] = "tte_input_pixels";
Result<std::vector<uint8_t>> ClassNamesBytes(const std::vector<std::string>& names);
std::vector<std::string> ParseClassNames(std::span<const uint8_t> bytes);

// The graph in TFLite's integer arithmetic (what a file written by ModelFileFromGraph computes):
// requant kTfliteInteger, global pools as windowed pools, every scale rounded to float32.
ir::Graph WithTfliteArithmetic(const ir::Graph& g);

// TFLite's fused activation whose range at (scale, zero) is [act_min, act_max]; false if none.
bool FusedActivationFor(int act_min, int act_max, float scale, int32_t zero, Activation* a);

// A complete model (operator codes, tensors, buffers; class names as metadata when the graph has
// them). `label` names the file in messages. The graph must verify.
Result<ModelFile> ModelFileFromGraph(const ir::Graph& g, const std::string& label);

// Constants between tte's layout and TFLite's (the inverse of the importer's conversions).
std::vector<uint8_t> OihwToOhwi(const std::vector<uint8_t>& w, int64_t o, int64_t i, int64_t kh,
                                int64_t kw);
std::vector<uint8_t> ChwColumnsToNhwc(const std::vector<uint8_t>& w, int64_t o, int64_t c,
                                      int64_t h, int64_t wd);

}  // namespace tte::tflite
