// TFLite int8 model -> ir::Graph: subgraph 0 of a .tflite file, in tte's layout and TFLite's
// integer requantization (Requant::kTfliteInteger).
//
//   TTE_ASSIGN_OR_RETURN(ir::Graph g, tflite::ImportTflite("model.tflite"));  // verified
//
// What it converts (docs/tflite.md has the table against TFLite Micro's int8 kernels):
//   CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MEAN (over H and W),
//   RESHAPE, SQUEEZE, PAD (constant, int8), SOFTMAX (int8, as the last op).
// Layout: activations NHWC [1,H,W,C] -> [C,H,W], [1,N] -> [N,1,1]; conv weights OHWI -> OIHW,
// depthwise [1,kh,kw,C*m] -> [C*m,1,kh,kw] (per-channel scales along O either way); fully connected
// weights [out, H*W*C] over the NHWC-flattened input -> [out,C,H,W]. SAME padding is resolved as
// TFLite does (the odd pixel at the bottom/right), fused activations become [act_min, act_max] as
// TFLite computes them. TFLite tensor and op indices stay in Value::source_tensor and
// Node::source_op; nodes are named "op 3 CONV_2D (<output tensor name>)".
// Bias values carry no quantization: an int32 bias is in the accumulator's scale s_in * s_w[c]
// (TFLite's kernels ignore the scale stored with it).
//
// Input spec: the input tensor's shape, scale and zero point, source_nhwc = true. Pixels: an input
// of scale exactly 1 is MLPerf Tiny's raw-pixel convention (the model expects 0..255 shifted into
// int8): PixelRule::kMinus128, q = p - 128. Any other scale: kScaleZero, q = round(p/255/scale) +
// zero.
//
// Everything else is refused with a message naming the file, the op (index and name) and the
// tensor: "m.tflite: op 12 HARD_SWISH is not supported".
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "import/tflite/model_file.h"
#include "ir/graph.h"

namespace tte::tflite {

Result<ir::Graph> ImportTflite(const std::string& path);
Result<ir::Graph> ImportModelFile(const ModelFile& m);  // m as ReadModelFile returns it

// TFLite's padding of one spatial axis (kernels/padding.h, ARITHMETIC.md section 6) for a kernel
// of k taps at dilation d: SAME: out = ceil(in / stride), total = max((out-1)*stride + (k-1)*d + 1
// - in, 0), before = total / 2, after = total - before. VALID: out = (in - (k-1)*d - 1) / stride +
// 1 (0 if the input is smaller than the kernel), no padding.
struct AxisPadding {
  int64_t out = 0;
  int64_t before = 0, after = 0;
};
AxisPadding ComputePadding(Padding padding, int64_t in, int64_t k, int64_t stride,
                           int64_t dilation);

// TFLite's clamp for a fused activation on an int8 output of the given scale and zero point
// (kernel_util.cc CalculateActivationRangeQuantized, ARITHMETIC.md section 3): Q(v) = zero +
// round(v / scale) in float32, rounding half away from zero; RELU [max(-128, Q(0)), 127], RELU6
// [max(-128, Q(0)), min(127, Q(6))], RELU_N1_TO_1 [max(-128, Q(-1)), min(127, Q(1))], NONE
// [-128, 127]. False for other activations and when Q overflows int32 (TFLite fails there too).
bool ActivationRange(Activation a, float scale, int32_t zero, int* act_min, int* act_max);

}  // namespace tte::tflite
