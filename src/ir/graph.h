// ir::Graph: the one graph IR every importer produces (MCUNetV3 .pkl, TFLite int8) and the training
// compiler consumes. It says WHAT the imported network computes, in tte's layout and with its
// quantization explicit; how it is computed (kernels, memory, training) is decided below it.
//
// Layout. Activations are [C, H, W] (batch 1, channel-major, as tte's kernels); a vector of N features
// (a TFLite [1, N] tensor, a fully connected layer's output) is [N, 1, 1]. Constant conv weights are
// OIHW [out, in / groups, kh, kw]; fully connected weights are [out, C, H, W] over the CHW input they
// read (an importer permutes TFLite's NHWC-flattened [out, H*W*C] columns into that order); biases
// are int32 [out].
//
// Quantization. Every int8 value has Quant{scale, zero}: one entry for activations, one per output
// channel for weights (axis 0), zero points 0 for weights. Scales are kept in double exactly as
// the file stores them (float32 in both formats); the arithmetic that turns them into kernel
// constants is the graph's `requant` mode:
//   kReferenceFp32  the MCUNetV3 reference's fp32 simulation (.pkl): eff = float32(s_x s_w / s_y),
//                   rint half to even; residual add and average pool in fp32.
//   kTfliteInteger  TFLite's integer kernels (.tflite): QuantizeMultiplier -> (multiplier, shift),
//                   MultiplyByQuantizedMultiplier with double rounding; TFLite's add/pool/mean rules.
//
// Nodes are in topological (execution) order; every node's outputs are new values. The activation
// range of an op (TFLite's fused RELU / RELU6 / none, the .pkl's plain int8 clamp) is the explicit
// [act_min, act_max] int8 clamp of its output; training's straight-through mask is "inside it".
//
//   Graph g;                         // e.g. from ImportPkl / ImportTflite
//   TTE_RETURN_IF_ERROR(Verify(g));  // after every importer and every pass; names the node it rejects
//   printf("%s", ToText(g).c_str()); // stable text dump (tests, `tte info --graph`)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tte::ir {

enum class Requant : uint8_t { kReferenceFp32, kTfliteInteger };
const char* RequantName(Requant r);  // "reference-fp32" / "tflite-integer"

struct Quant {
  std::vector<double> scale;  // 1 entry (per tensor) or one per channel along `axis`
  std::vector<int32_t> zero;  // same length as scale
  int axis = 0;               // channel axis of per-channel quantization (0 = O of OIHW weights)
  bool empty() const { return scale.empty(); }
};

struct Value {
  std::string name;             // readable: "blocks.3.pointwise1.out", a TFLite tensor name
  DType dtype = DType::kInt8;
  std::vector<int64_t> shape;   // see the layout rules above
  Quant quant;
  std::vector<uint8_t> data;    // constants only (weights, biases, pad values): numel * dtype size bytes
  int source_tensor = -1;       // index of the tensor in the imported file (TFLite), -1 if none

  bool is_const() const { return !data.empty(); }
  int64_t numel() const;
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data.data()); }
};

// One table of op kinds (X-macro): enum, names and arity come from here.
//   X(enum, "text name", number of data inputs, number of constant inputs)
#define TTE_IR_OPS(X)                                                                                         \
  X(kConv2d, "conv2d", 1, 2)               /* {x, weight OIHW, bias}: groups 1 or any divisor          */  \
  X(kDepthwiseConv2d, "depthwise_conv2d", 1, 2) /* {x, weight [C*mult,1,kh,kw], bias}: groups = C_in */    \
  X(kFullyConnected, "fully_connected", 1, 2) /* {x [C,H,W], weight [out,C,H,W], bias} -> [out,1,1]  */    \
  X(kAdd, "add", 2, 0)                     /* {a, b}: same shape, own scales                           */  \
  X(kAvgPool2d, "avg_pool2d", 1, 0)        /* {x}: window kh x kw, stride, explicit pads (or global)   */  \
  X(kMean, "mean", 1, 0)                   /* {x}: mean over H and W -> [C,1,1]                        */  \
  X(kReshape, "reshape", 1, 0)             /* {x}: same elements, new shape (see Node::reshape_hwc)    */  \
  X(kPad, "pad", 1, 0)                     /* {x}: constant padding with the zero point                */  \
  X(kSoftmax, "softmax", 1, 0)             /* {x}: int8 softmax over C (the model's last op)           */

enum class OpKind : uint8_t {
#define TTE_IR_ENUM(e, name, n_data, n_const) e,
  TTE_IR_OPS(TTE_IR_ENUM)
#undef TTE_IR_ENUM
};
const char* OpName(OpKind k);
int DataInputs(OpKind k);   // activation inputs
int ConstInputs(OpKind k);  // constant inputs that follow them

// Convolution and pooling geometry. Output size = (in + pad_before + pad_after - dilation*(k-1) - 1) / stride + 1
// per axis; pads are explicit (TFLite SAME is resolved by the importer, the odd pixel at the bottom/right).
struct Window2d {
  int kh = 1, kw = 1;
  int sh = 1, sw = 1;
  int dh = 1, dw = 1;           // dilation (pooling: always 1)
  int pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
};

struct Node {
  OpKind op = OpKind::kConv2d;
  std::string name;             // readable: "blocks.3.pointwise1", "op 12 CONV_2D (tensor name)"
  std::vector<int> inputs;      // value ids: data inputs first, then constant inputs
  std::vector<int> outputs;     // value ids (one output for every op kind)
  Window2d window;              // conv2d, depthwise_conv2d, avg_pool2d
  int groups = 1;               // conv2d (depthwise: = C_in)
  int depth_multiplier = 1;     // depthwise_conv2d
  bool global_pool = false;     // avg_pool2d over the whole H x W (the .pkl's pool; no rounding of windows)
  int act_min = -128, act_max = 127;  // int8 clamp of the output (fused activation)
  // kPad: before/after padding per axis of [C, H, W].
  int pad_c[2] = {0, 0}, pad_h[2] = {0, 0}, pad_w[2] = {0, 0};
  // kReshape: true when the source reshaped in NHWC order (TFLite), so that CHW data must be re-ordered
  // unless the move is trivial (H = W = 1 on both sides); false: plain CHW reshape.
  bool reshape_hwc = false;
  int source_op = -1;           // operator index in the imported file (TFLite), -1 if none
};

// What the model expects as its input, for data pipelines: the shape in tte's [C, H, W] layout,
// the quantization, and how 8-bit pixels become int8 values.
enum class PixelRule : uint8_t {
  kMinus128,      // q = p - 128 (the .pkl models; MLPerf Tiny's image samples)
  kScaleZero,     // q = clamp(round(p / 255 / scale) + zero)  (the input's own quantization)
};
struct InputSpec {
  int c = 0, h = 0, w = 0;
  double scale = 1.0;
  int zero = 0;
  PixelRule pixels = PixelRule::kMinus128;
  bool source_nhwc = false;     // the file's own layout of the input (TFLite: NHWC; npy inputs come in it)
};

// The fp32 classifier tte trains (the .pkl's "tte_head" of a trained model, carried through).
struct FpHead {
  int in = 0, out = 0;
  std::vector<float> weight;    // [out][in]
  std::vector<float> bias;      // [out]
};

struct Graph {
  std::string source;           // file it came from (for messages)
  std::string format;           // "pkl" | "tflite"
  Requant requant = Requant::kReferenceFp32;
  std::vector<Value> values;
  std::vector<Node> nodes;      // topological order
  int input = -1;               // value id of the network input
  int output = -1;              // value id of the network output (logits, or the softmax output)
  InputSpec input_spec;
  std::vector<std::string> class_names;  // optional (trained models, TFLite metadata)
  FpHead fp_head;               // in == 0: none

  int AddValue(Value v);
  int AddNode(Node n);          // returns the node index
  const Value& value(int id) const { return values[static_cast<size_t>(id)]; }
  // Producer node of a value (-1 for the input and constants) and consumer nodes, computed on demand.
  std::vector<int> Producers() const;
  std::vector<std::vector<int>> Consumers() const;
};

// Checks arity, shapes (every output shape follows from its inputs and attributes), quantization
// (scales finite and > 0, zero points in int8, per-channel lengths, weight zero points 0), activation
// ranges (act_min <= act_max within int8), constants' sizes, topological order and that every value
// has exactly one producer. The message names the graph source and the node: "m.tflite: node 12
// conv2d 'op 12 CONV_2D (name)': weight has 16 output channels, bias 8".
Status Verify(const Graph& g);

// Stable, diff-friendly text dump: one line per value and node.
std::string ToText(const Graph& g);

// Output size of one axis of a window (see Window2d); < 1 when the input is too small.
int WindowOutSize(int in, int k, int stride, int dilation, int pad_before, int pad_after);

}  // namespace tte::ir
