// One builder per TFLite op tte imports: options and tensors checked, weights moved into tte's
// layout (OHWI -> OIHW, depthwise [1,kh,kw,O] -> [O,1,kh,kw], fully connected columns from NHWC to
// CHW order), windows with TFLite's padding, fused activations as clamps.
#include <cmath>
#include <cstring>
#include <set>

#include "import/tflite/importer_internal.h"

namespace tte::tflite::detail {
namespace {

template <typename T>
const char* OptionsName();
template <>
const char* OptionsName<Conv2dOptions>() {
  return "Conv2DOptions";
}
template <>
const char* OptionsName<DepthwiseConv2dOptions>() {
  return "DepthwiseConv2DOptions";
}
template <>
const char* OptionsName<Pool2dOptions>() {
  return "Pool2DOptions";
}
template <>
const char* OptionsName<FullyConnectedOptions>() {
  return "FullyConnectedOptions";
}
template <>
const char* OptionsName<SoftmaxOptions>() {
  return "SoftmaxOptions";
}
template <>
const char* OptionsName<AddOptions>() {
  return "AddOptions";
}
template <>
const char* OptionsName<ReducerOptions>() {
  return "ReducerOptions";
}

std::string Hw(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// [O, KH, KW, I] -> [O, I, KH, KW]
std::vector<uint8_t> OhwiToOihw(std::span<const uint8_t> src, int64_t O, int64_t KH, int64_t KW,
                                int64_t I) {
  std::vector<uint8_t> dst(src.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t h = 0; h < KH; ++h)
      for (int64_t w = 0; w < KW; ++w)
        for (int64_t i = 0; i < I; ++i)
          dst[static_cast<size_t>(((o * I + i) * KH + h) * KW + w)] =
              src[static_cast<size_t>(((o * KH + h) * KW + w) * I + i)];
  return dst;
}

// Fully connected [O, H*W*C] over an NHWC-flattened input -> [O, C, H, W].
std::vector<uint8_t> NhwcColumnsToChw(std::span<const uint8_t> src, int64_t O, int64_t C, int64_t H,
                                      int64_t W) {
  std::vector<uint8_t> dst(src.size());
  const int64_t n = C * H * W;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          dst[static_cast<size_t>(o * n + (c * H + h) * W + w)] =
              src[static_cast<size_t>(o * n + (h * W + w) * C + c)];
  return dst;
}

}  // namespace

template <typename Options>
Result<Options> Importer::Opts() const {
  if (const Options* o = std::get_if<Options>(&op_->options)) return *o;
  if (op_->options_type == 0) return Options{};  // absent: TFLite's defaults
  return OpError("carries builtin options of union type " + std::to_string(op_->options_type) +
                 ", not " + OptionsName<Options>());
}

Status Importer::Window(Padding padding, int stride_h, int stride_w, int dil_h, int dil_w,
                        int64_t kh, int64_t kw, const std::vector<int64_t>& x, ir::Node* n,
                        std::vector<int64_t>* out_hw) const {
  if (padding != Padding::kSame && padding != Padding::kValid) {
    return OpError("padding code " + std::to_string(static_cast<int>(padding)) +
                   " is neither SAME nor VALID");
  }
  for (int v : {stride_h, stride_w, dil_h, dil_w}) {
    if (v < 1 || v > kMaxDim) {
      return OpError("stride " + Hw(stride_h, stride_w) + " dilation " + Hw(dil_h, dil_w) +
                     ": each must be in [1, " + std::to_string(kMaxDim) + "]");
    }
  }
  if (kh < 1 || kw < 1 || kh > kMaxDim || kw > kMaxDim) {
    return OpError("window " + Hw(kh, kw) + " is empty or too large");
  }
  const AxisPadding ph = ComputePadding(padding, x[1], kh, stride_h, dil_h);
  const AxisPadding pw = ComputePadding(padding, x[2], kw, stride_w, dil_w);
  if (ph.out < 1 || pw.out < 1) {
    return OpError("input " + Hw(x[1], x[2]) + " is smaller than the window " + Hw(kh, kw) +
                   " at dilation " + Hw(dil_h, dil_w) + " (VALID padding)");
  }
  ir::Window2d& w = n->window;
  w.kh = static_cast<int>(kh), w.kw = static_cast<int>(kw);
  w.sh = stride_h, w.sw = stride_w, w.dh = dil_h, w.dw = dil_w;
  w.pad_t = static_cast<int>(ph.before), w.pad_b = static_cast<int>(ph.after);
  w.pad_l = static_cast<int>(pw.before), w.pad_r = static_cast<int>(pw.after);
  *out_hw = {ph.out, pw.out};
  return Status::Ok();
}

Status Importer::Conv2d() {
  TTE_ASSIGN_OR_RETURN(Conv2dOptions o, Opts<Conv2dOptions>());
  if (o.quantized_bias_type != TensorType::kFloat32 &&
      o.quantized_bias_type != TensorType::kInt32) {
    return OpError(std::string("quantized_bias_type ") + TensorTypeName(o.quantized_bias_type) +
                       ": only int32 biases",
                   StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  TTE_ASSIGN_OR_RETURN(int wt, ConstInput(1, TensorType::kInt8, 4, "weights"));
  const std::vector<int32_t>& s = T(wt).shape;  // OHWI
  const int64_t O = s[0], KH = s[1], KW = s[2], I = s[3];
  if (xs[0] % I != 0 || O % (xs[0] / I) != 0) {
    return OpError("weights " + ShapeString({O, KH, KW, I}) + " (OHWI) do not fit an input of " +
                   std::to_string(xs[0]) + " channels (groups must divide both channel counts)");
  }
  ir::Node n;
  n.op = ir::OpKind::kConv2d;
  n.groups = static_cast<int>(xs[0] / I);
  std::vector<int64_t> hw;
  TTE_RETURN_IF_ERROR(
      Window(o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, KH, KW, xs, &n, &hw));
  ir::Value w;
  w.name = T(wt).name;
  w.shape = {O, I, KH, KW};
  TTE_ASSIGN_OR_RETURN(w.quant, WeightQuant(wt, 0, O));
  TTE_RETURN_IF_ERROR(ChargeConstant(m_.BufferData(T(wt).buffer).size()));
  w.data = OhwiToOihw(m_.BufferData(T(wt).buffer), O, KH, KW, I);
  w.source_tensor = wt;
  const int w_id = graph_.AddValue(std::move(w));
  TTE_ASSIGN_OR_RETURN(int b_id, Bias(2, O));
  TTE_ASSIGN_OR_RETURN(int y, Output({O, hw[0], hw[1]}));
  TTE_RETURN_IF_ERROR(SetActivation(o.activation, op_->outputs[0], &n));
  n.inputs = {x, w_id, b_id};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::DepthwiseConv2d() {
  TTE_ASSIGN_OR_RETURN(DepthwiseConv2dOptions o, Opts<DepthwiseConv2dOptions>());
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  TTE_ASSIGN_OR_RETURN(int wt, ConstInput(1, TensorType::kInt8, 4, "weights"));
  const std::vector<int32_t>& s = T(wt).shape;  // [1, KH, KW, C * multiplier]
  const int64_t KH = s[1], KW = s[2], O = s[3], C = xs[0];
  if (s[0] != 1 || O % C != 0) {
    return OpError("weights " + ShapeString({s[0], KH, KW, O}) + " are not [1, kh, kw, " +
                   std::to_string(C) + " x multiplier] for an input of " + std::to_string(C) +
                   " channels");
  }
  const int64_t mult = O / C;
  if (o.depth_multiplier != 0 && o.depth_multiplier != mult) {
    return OpError("depth_multiplier " + std::to_string(o.depth_multiplier) +
                   " in the options, but the weights give " + std::to_string(mult));
  }
  ir::Node n;
  n.op = ir::OpKind::kDepthwiseConv2d;
  n.groups = static_cast<int>(C);
  n.depth_multiplier = static_cast<int>(mult);
  std::vector<int64_t> hw;
  TTE_RETURN_IF_ERROR(
      Window(o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, KH, KW, xs, &n, &hw));
  ir::Value w;
  w.name = T(wt).name;
  w.shape = {O, 1, KH, KW};
  TTE_ASSIGN_OR_RETURN(w.quant, WeightQuant(wt, 3, O));
  // [1, KH, KW, O] -> [O, 1, KH, KW]: the same transposition as OHWI -> OIHW with O = 1, I = O.
  TTE_RETURN_IF_ERROR(ChargeConstant(m_.BufferData(T(wt).buffer).size()));
  w.data = OhwiToOihw(m_.BufferData(T(wt).buffer), 1, KH * KW, 1, O);
  w.source_tensor = wt;
  const int w_id = graph_.AddValue(std::move(w));
  TTE_ASSIGN_OR_RETURN(int b_id, Bias(2, O));
  TTE_ASSIGN_OR_RETURN(int y, Output({O, hw[0], hw[1]}));
  TTE_RETURN_IF_ERROR(SetActivation(o.activation, op_->outputs[0], &n));
  n.inputs = {x, w_id, b_id};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::FullyConnected() {
  TTE_ASSIGN_OR_RETURN(FullyConnectedOptions o, Opts<FullyConnectedOptions>());
  if (o.weights_format != 0) {
    return OpError(
        "weights_format " + std::to_string(o.weights_format) + " (shuffled): only DEFAULT",
        StatusCode::kUnsupported);
  }
  if (o.quantized_bias_type != TensorType::kFloat32 &&
      o.quantized_bias_type != TensorType::kInt32) {
    return OpError(std::string("quantized_bias_type ") + TensorTypeName(o.quantized_bias_type) +
                       ": only int32 biases",
                   StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  const int64_t C = xs[0], H = xs[1], W = xs[2], numel = C * H * W;
  TTE_ASSIGN_OR_RETURN(int wt, ConstInput(1, TensorType::kInt8, 2, "weights"));
  const int64_t O = T(wt).shape[0], N = T(wt).shape[1];
  if (numel != N) {
    return OpError(numel % N == 0 ? "the input's " + std::to_string(numel) + " values make batch " +
                                        std::to_string(numel / N) + " for weights of " +
                                        std::to_string(N) + " columns: only batch 1"
                                  : "the input has " + std::to_string(numel) +
                                        " values, the weights " + std::to_string(N) + " columns",
                   numel % N == 0 ? StatusCode::kUnsupported : StatusCode::kInvalidArgument);
  }
  if (o.keep_num_dims && H * W > 1) {
    return OpError("keep_num_dims over a " + Hw(H, W) +
                       " input applies the layer at every position: not supported",
                   StatusCode::kUnsupported);
  }
  const size_t out_rank = T(op_->outputs[0]).shape.size();
  const size_t in_rank = T(op_->inputs[0]).shape.size();
  if (o.keep_num_dims ? out_rank != in_rank : out_rank != 2) {
    return OpError("output rank " + std::to_string(out_rank) + " does not follow keep_num_dims " +
                   (o.keep_num_dims ? "true" : "false") + " over an input of rank " +
                   std::to_string(in_rank));
  }
  ir::Value w;
  w.name = T(wt).name;
  w.shape = {O, C, H, W};
  TTE_ASSIGN_OR_RETURN(w.quant, WeightQuant(wt, 0, O));
  TTE_RETURN_IF_ERROR(ChargeConstant(m_.BufferData(T(wt).buffer).size()));
  w.data = NhwcColumnsToChw(m_.BufferData(T(wt).buffer), O, C, H, W);
  w.source_tensor = wt;
  const int w_id = graph_.AddValue(std::move(w));
  TTE_ASSIGN_OR_RETURN(int b_id, Bias(2, O));
  TTE_ASSIGN_OR_RETURN(int y, Output({O, 1, 1}));
  ir::Node n;
  n.op = ir::OpKind::kFullyConnected;
  TTE_RETURN_IF_ERROR(SetActivation(o.activation, op_->outputs[0], &n));
  n.inputs = {x, w_id, b_id};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::Add() {
  TTE_ASSIGN_OR_RETURN(AddOptions o, Opts<AddOptions>());
  if (op_->inputs.size() != 2)
    return OpError("has " + std::to_string(op_->inputs.size()) + " inputs, expected 2");
  TTE_ASSIGN_OR_RETURN(int a, DataInput(0));
  TTE_ASSIGN_OR_RETURN(int b, DataInput(1));
  const std::vector<int64_t> as = graph_.value(a).shape, bs = graph_.value(b).shape;
  if (as != bs) {
    return OpError("inputs of shapes " + ShapeString(as) + " and " + ShapeString(bs) +
                       " (C,H,W) differ: broadcasting is not supported",
                   StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int y, Output(as));
  ir::Node n;
  n.op = ir::OpKind::kAdd;
  TTE_RETURN_IF_ERROR(SetActivation(o.activation, op_->outputs[0], &n));
  n.inputs = {a, b};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::AveragePool2d() {
  TTE_ASSIGN_OR_RETURN(Pool2dOptions o, Opts<Pool2dOptions>());
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  ir::Node n;
  n.op = ir::OpKind::kAvgPool2d;
  std::vector<int64_t> hw;
  TTE_RETURN_IF_ERROR(
      Window(o.padding, o.stride_h, o.stride_w, 1, 1, o.filter_h, o.filter_w, xs, &n, &hw));
  TTE_ASSIGN_OR_RETURN(int y, Output({xs[0], hw[0], hw[1]}));
  TTE_RETURN_IF_ERROR(CheckQuantEqual(op_->inputs[0], op_->outputs[0],
                                      "TFLite's int8 average pool keeps the input's quantization"));
  TTE_RETURN_IF_ERROR(SetActivation(o.activation, op_->outputs[0], &n));
  n.inputs = {x};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::Mean() {
  TTE_ASSIGN_OR_RETURN(ReducerOptions o, Opts<ReducerOptions>());
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  TTE_ASSIGN_OR_RETURN(int axes_t, ConstInput(1, TensorType::kInt32, 0, "axes"));
  std::span<const uint8_t> bytes = m_.BufferData(T(axes_t).buffer);
  std::set<int32_t> axes;
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    int32_t a;
    std::memcpy(&a, bytes.data() + i, 4);
    axes.insert(a < 0 ? a + 4 : a);
  }
  if (T(op_->inputs[0]).shape.size() != 4 || axes != std::set<int32_t>{1, 2}) {
    return OpError("only the mean over H and W of a [1,H,W,C] input (axes 1 and 2) is supported",
                   StatusCode::kUnsupported);
  }
  if (T(op_->outputs[0]).shape.size() != (o.keep_dims ? 4u : 2u)) {
    return OpError("output shape does not follow keep_dims " +
                   std::string(o.keep_dims ? "true" : "false"));
  }
  TTE_ASSIGN_OR_RETURN(int y, Output({xs[0], 1, 1}));
  ir::Node n;
  n.op = ir::OpKind::kMean;
  n.inputs = {x};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::Reshape(bool squeeze) {
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const int64_t numel = graph_.value(x).numel();
  const int yt = op_->outputs[0];
  const std::string who = m_.label + ": op " + std::to_string(op_index_) + " " + op_name_ +
                          ": output (" + Tensor(yt) + ")";
  TTE_ASSIGN_OR_RETURN(std::vector<int64_t> ys, ActivationShape(yt, who));
  if (ys[0] * ys[1] * ys[2] != numel) {
    return OpError(std::string(squeeze ? "squeeze" : "reshape") + " from " + std::to_string(numel) +
                   " to " + std::to_string(ys[0] * ys[1] * ys[2]) + " elements");
  }
  TTE_ASSIGN_OR_RETURN(int y, Output(ys));
  TTE_RETURN_IF_ERROR(CheckQuantEqual(op_->inputs[0], yt, "a reshape moves int8 values unchanged"));
  ir::Node n;
  n.op = ir::OpKind::kReshape;
  n.reshape_hwc = true;
  n.inputs = {x};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::Pad() {
  if (op_->inputs.size() != 2)
    return OpError("has " + std::to_string(op_->inputs.size()) + " inputs, expected 2");
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  const size_t rank = T(op_->inputs[0]).shape.size();
  TTE_ASSIGN_OR_RETURN(int pt, ConstInput(1, TensorType::kInt32, 2, "paddings"));
  if (T(pt).shape[0] != static_cast<int32_t>(rank) || T(pt).shape[1] != 2) {
    return OpError("paddings (" + Tensor(pt) + ") are not [" + std::to_string(rank) + ", 2]");
  }
  std::span<const uint8_t> bytes = m_.BufferData(T(pt).buffer);
  std::vector<int32_t> p(rank * 2);
  std::memcpy(p.data(), bytes.data(), p.size() * 4);
  for (int32_t v : p) {
    if (v < 0 || v > kMaxDim)
      return OpError("padding " + std::to_string(v) + " is outside [0, " + std::to_string(kMaxDim) +
                     "]");
  }
  if (p[0] != 0 || p[1] != 0) return OpError("pads the batch dimension", StatusCode::kUnsupported);
  ir::Node n;
  n.op = ir::OpKind::kPad;
  if (rank == 4) {
    n.pad_h[0] = p[2], n.pad_h[1] = p[3], n.pad_w[0] = p[4], n.pad_w[1] = p[5];
    n.pad_c[0] = p[6], n.pad_c[1] = p[7];
  } else {
    n.pad_c[0] = p[2], n.pad_c[1] = p[3];
  }
  TTE_ASSIGN_OR_RETURN(int y,
                       Output({xs[0] + n.pad_c[0] + n.pad_c[1], xs[1] + n.pad_h[0] + n.pad_h[1],
                               xs[2] + n.pad_w[0] + n.pad_w[1]}));
  TTE_RETURN_IF_ERROR(
      CheckQuantEqual(op_->inputs[0], op_->outputs[0],
                      "TFLite's int8 pad copies values and pads with the zero point"));
  n.inputs = {x};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

Status Importer::Softmax() {
  TTE_ASSIGN_OR_RETURN(SoftmaxOptions o, Opts<SoftmaxOptions>());
  if (o.beta != 1.0f) {
    return OpError("beta " + std::to_string(o.beta) + ": only beta 1", StatusCode::kUnsupported);
  }
  if (static_cast<size_t>(op_index_) + 1 != g_.operators.size() ||
      op_->outputs[0] != g_.outputs[0]) {
    return OpError("only as the model's last op, giving its output", StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int x, DataInput(0));
  const std::vector<int64_t> xs = graph_.value(x).shape;
  if (xs[1] != 1 || xs[2] != 1) {
    return OpError(
        "softmax over the channels of a " + Hw(xs[1], xs[2]) + " input: only over a vector",
        StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int y, Output(xs));
  const Quantization& q = T(op_->outputs[0]).quantization;
  if (std::fabs(q.scale[0] - 1.0f / 256) > 1e-8f || q.zero_point[0] != -128) {
    return OpError("output scale " + std::to_string(q.scale[0]) + " zero point " +
                   std::to_string(q.zero_point[0]) +
                   ": TFLite's int8 softmax needs scale 1/256 and zero point -128");
  }
  ir::Node n;
  n.op = ir::OpKind::kSoftmax;
  n.inputs = {x};
  n.outputs = {y};
  NewNode(std::move(n));
  return Status::Ok();
}

}  // namespace tte::tflite::detail
