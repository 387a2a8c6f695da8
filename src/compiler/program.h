// Program: tte's compiled training (or inference) step, the one IR shared by the memory planner,
// the host runtime and the C code generator.
//
// A Program is a straight-line list of Ops over Tensors. Each Op is one kernel call of
// src/kernels/tte_kernels.h. Tensors live in one of three places:
//   kArena  - the planned arena (activations, saved-for-backward tensors, masks, gradients, logits);
//   kState  - persistent SRAM state (trainable weight slices, biases, fp32 masters, momentum, head);
//   kFlash  - constant data (frozen weights, biases, scales, slot maps, QAS divisors).
// Frozen parameters are not Tensors at all: ops refer to the model's layers by conv index, and the
// runtime/codegen bind them from the Model. Tensor ids index Program::tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tte {

enum class Storage { kArena, kState, kFlash };

struct TensorInfo {
  std::string name;             // stable, readable: "b3.pw1.out", "b3.pw1.mask", "g:b3.pw1.out"
  DType dtype = DType::kInt8;   // kUInt8 for bit masks (bits = true)
  std::vector<int64_t> shape;   // logical shape (masks: the shape of the tensor they mask)
  bool bits = false;            // 1-bit packed mask
  Storage storage = Storage::kArena;
  bool is_input = false;        // written by the caller before a step (the image)
  bool is_output = false;       // read by the caller after a step (logits, loss)
  std::vector<uint8_t> init;    // kState / kFlash: initial contents (bytes() long)
  // Filled by the memory planner (kArena only):
  int64_t offset = -1;
  int alias_of = -1;            // in place: shares storage with this tensor
  std::string alias_reason;

  int64_t numel() const;
  int64_t bytes() const;        // masks: ceil(numel / 8)
};

enum class OpCode {
  // forward
  kConv,              // ins {x} outs {y[, mask]}                     conv = layer index (conv2d, depthwise, fully connected)
  kAdd,               // ins {x1, x2} outs {y[, mask]}                aux = Program::adds index
  kAvgPool,           // ins {x} outs {y[, mask]}                     aux = Program::pools index
  kMean,              // ins {x} outs {y}                             aux = Program::means index
  kPad,               // ins {x} outs {y}                             aux = Program::pads index
  kReshape,           // ins {x} outs {y}                             aux = Program::reshapes index (NHWC-order reshapes)
  kSoftmax,           // ins {x} outs {y}                             aux = Program::softmaxes index (inference only)
  kGatherChannels,    // ins {x} outs {xs}                            conv = consumer layer (its selection)
  kHeadForward,       // ins {features} outs {logits}
  kLoss,              // ins {logits} outs {dlogits, loss}            label supplied at run time
  // backward
  kHeadBackward,      // ins {features, dlogits} outs {dfeatures?}     updates the head (fused) or its grads
  kAvgPoolBackward,   // ins {g} outs {gx} (g masked by a kMaskScale)   aux = pools index
  kMeanBackward,      // ins {g} outs {gx}                            aux = means index
  kPadBackward,       // ins {g} outs {gx}                            aux = pads index
  kReshapeBackward,   // ins {g} outs {gx}                            aux = reshapes index
  kAddBackward,       // ins {g, mask?} outs {gx1, gx2}                accumulate: gx1 += instead of =
  kAccumulate,        // ins {g} outs {acc}                           acc += g (a gradient's second contribution)
  kMaskScale,         // ins {g, mask?} outs {g'}                      conv = layer (eff) or -1 (mask only); g' may alias g
  kConvBiasGrad,      // ins {g} outs {}                               fused update or into a grad buffer
  kConvBackwardInput, // ins {g} outs {dx}                             accumulate: dx +=
  kConvWeightGrad,    // ins {g, xs} outs {}                           fused update or into a grad buffer
  kApplyUpdate,       // ins {} outs {}                                conv (or -1 = head): apply stored grads
};

const char* OpCodeName(OpCode code);

enum class Phase { kForward, kLoss, kBackward, kUpdate };

// A rectangle of a feature map in full-tensor coordinates (patch-based execution).
struct Window {
  int y0 = 0, x0 = 0, h = 0, w = 0;
  int64_t area() const { return static_cast<int64_t>(h) * w; }
};

// Windows of a patch conv: which part of the input its x buffer holds, which part of the output it
// computes, and which part of the output its y buffer holds (see tte_conv_params).
struct ConvWindows {
  Window in_buf, out, out_buf;
};

struct Op {
  explicit Op(OpCode c) : code(c) {}
  OpCode code;
  Phase phase = Phase::kForward;
  std::vector<int> ins, outs;
  int conv = -1;           // layer index (kConv, kMaskScale, kConv*Grad, kConvBackwardInput, kGather, kApplyUpdate)
  int aux = -1;            // index into the binding vector of the op's kind (add, pool, mean, pad, reshape, softmax)
  bool accumulate = false; // kAddBackward (gx1), kConvBackwardInput (dx)
  bool fused_update = true;// kConvBiasGrad / kConvWeightGrad / kHeadBackward: apply SGD at once
  bool in_place = false;   // kConv (depthwise) / kConvBackwardInput: output over ins[0], scratch = ins[1];
                           // kAdd: output over ins[1] (see compiler/inplace.h)
  std::string note;        // why this op exists / in-place reason, printed by `tte compile`
  bool windowed = false;   // kConv of a patch stage: computes `windows.out` only
  ConvWindows windows;
};

// Requantization mode of a binding (the values of tte_kernels.h's TTE_REQUANT_*).
enum : int { kRequantFp32 = 0, kRequantTflite = 1 };

// Everything a conv op (conv2d, depthwise, fully connected) needs besides its activations, at the compiled
// input size. A fully connected layer over [C, H, W] is the conv whose kernel is the whole input (kh = H, kw = W).
struct ConvBinding {
  int index = -1;              // layer index: the scheme's conv numbering (`tte info`); the int8 classifier is last
  std::string name;            // "b3.pw1", or the graph node's name
  int node = -1;               // ir::Graph node it comes from
  int cin = 0, cout = 0, groups = 1;
  bool depthwise = false;      // one kh x kw filter per output channel over input channel o / (cout / cin)
  bool fully_connected = false;
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int x_zero = 0, y_zero = 0;
  int act_min = -128, act_max = 127;
  int requant = kRequantFp32;
  double x_scale = 1, y_scale = 1;
  // parameters (tensor ids)
  int w_frozen = -1;           // int8 flash: whole OIHW tensor, or the frozen rows when split
  int w_train = -1;            // int8 state: trainable rows (see tte_weights)
  int slot = -1;               // uint16 flash: row of each selection channel, -1 when not split
  int n_frozen = 0, n_train = 0;
  int bias_i32 = -1;           // int32 (flash if frozen, state if trained in device mode)
  int bias_f32 = -1;           // fp32 state: master bias (master mode)
  int eff = -1;                // fp32 flash [cout]: fp32 requant scale / the backward's straight-through scale
  int mult = -1, shift = -1;   // int32 flash [cout]: TFLite requant (requant == kRequantTflite)
  // training
  bool train_bias = false, train_weight = false;
  int sel = -1;                // uint16 flash [n_train]: selection channels of the trainable rows, ascending
  int saved_sel = -1;          // uint16 flash [n_train]: input channel saved for each trainable row (kGatherChannels):
                               // sel itself, or sel / multiplier for depthwise convs with a depth multiplier
  int qas_w = -1, qas_b = -1;  // fp32 flash [cout]
  int w_master = -1, w_mom = -1, b_mom = -1;  // fp32 state
  int grad_w = -1, grad_b = -1;               // fp32 state: gradient buffers when updates are not fused

  int kk() const { return kh * kw; }
  int in_per_group() const { return cin / groups; }
  // Channels a sparse update selects among: output channels of depthwise convs, input channels otherwise.
  int selection_count() const { return depthwise ? cout : cin; }
};

struct AddBinding {
  int n = 0;
  int z1 = 0, z2 = 0, zy = 0;
  float s1 = 1, s2 = 1, sy = 1;        // fp32 arithmetic (reference) and the backward's scales (both modes)
  int act_min = -128, act_max = 127;
  int requant = kRequantFp32;
  double s1d = 1, s2d = 1, syd = 1;    // the scales as imported (TFLite's constants are derived from them)
};

struct PoolBinding {                   // average pooling
  int c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
  bool global = false;                 // the .pkl's global pool: rintf(sum / (float)(H*W))
  int act_min = -128, act_max = 127;
  int requant = kRequantFp32;
};

struct MeanBinding {                   // mean over H and W (TFLite MEAN)
  int c = 0, h = 0, w = 0;
  int x_zero = 0, y_zero = 0;
  double x_scale = 1, y_scale = 1;
  int act_min = -128, act_max = 127;
};

struct PadBinding {                    // constant padding of [C, H, W] with the zero point
  int c = 0, h = 0, w = 0;
  int pad[6] = {0, 0, 0, 0, 0, 0};     // c before/after, h before/after, w before/after
  int value = 0;
};

struct ReshapeBinding {                // a reshape in NHWC order of CHW data (the data moves)
  int in_c = 0, in_h = 0, in_w = 0, out_c = 0, out_h = 0, out_w = 0;
};

struct SoftmaxBinding {                // TFLite int8 softmax (inference programs only)
  int n = 0;
  double beta = 1, x_scale = 1;
  int x_zero = 0, y_zero = 0;
  double y_scale = 1;
};

struct HeadBinding {
  int in = 0, out = 0;
  int x_zero = 0;
  float x_scale = 1;
  int W = -1, b = -1, mW = -1, mb = -1, gW = -1, gb = -1;  // fp32 state
};

// Optimizer settings baked into a training program (read by the runtime and the code generator).
struct TrainSettings {
  bool enabled = false;
  int store = 1;          // TTE_STORE_DEVICE or TTE_STORE_MASTER
  int rounding = 1;       // TTE_ROUND_*
  float momentum = 0.0f;
  bool qas = true;
  bool fused = true;      // updates fused into the backward (operator reordering)
  int num_classes = 0;
};

struct Program {
  TrainSettings train;
  std::vector<TensorInfo> tensors;
  std::vector<Op> ops;
  std::vector<ConvBinding> convs;  // by layer index; the int8 classifier (inference) is the last
  std::vector<AddBinding> adds;    // by Op::aux of each kind's ops
  std::vector<PoolBinding> pools;
  std::vector<MeanBinding> means;
  std::vector<PadBinding> pads;
  std::vector<ReshapeBinding> reshapes;
  std::vector<SoftmaxBinding> softmaxes;
  HeadBinding head;                // training only
  int input = -1;          // int8 [C, H, W] model input
  int logits = -1;         // forward output: int8 [classes] (inference) or fp32 [classes] (training)
  int loss = -1;           // fp32 [1] (training)
  int resolution = 0;      // input height (the .pkl models' square resolution)

  int AddTensor(TensorInfo t);
  int AddOp(Op op);
};

// Root of an alias group: the tensor whose storage an in-place group uses (t itself if not aliased).
int AliasRoot(const Program& p, int t);

// Removes tensors no op, binding or program slot refers to, renumbering ids.
void RemoveUnusedTensors(Program* prog);
// Every tensor id field of a binding (parameters, tables, state), for analyses, renumbering and codegen.
std::vector<int*> TensorRefs(ConvBinding& b);
std::vector<int*> TensorRefs(HeadBinding& h);
std::vector<int> TensorIds(const ConvBinding& b);
std::vector<int> TensorIds(const HeadBinding& h);

}  // namespace tte
