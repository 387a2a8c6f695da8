// Forward lowering of an ir::Graph (see forward_builder.h).
#include "compiler/forward_builder.h"

#include <algorithm>
#include <cstring>

#include "core/limits.h"
#include "kernels/tte_kernels.h"

namespace tte {
namespace {

template <typename T>
int FlashTensor(Program* prog, const std::string& name, DType dt, std::vector<int64_t> shape, const T* data, size_t n) {
  TensorInfo t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.storage = Storage::kFlash;
  t.init.resize(n * sizeof(T));
  if (n) std::memcpy(t.init.data(), data, t.init.size());
  return prog->AddTensor(std::move(t));
}

int RequantOf(const ir::Graph& g) { return g.requant == ir::Requant::kTfliteInteger ? kRequantTflite : kRequantFp32; }

bool TrivialReshape(const ir::Graph& g, const ir::Node& n) {
  if (!n.reshape_hwc) return true;
  const std::vector<int64_t>& a = g.value(n.inputs[0]).shape;
  const std::vector<int64_t>& b = g.value(n.outputs[0]).shape;
  return a == b || (a[1] == 1 && a[2] == 1 && b[1] == 1 && b[2] == 1);
}

class Lowering {
 public:
  Lowering(const ir::Graph& g, const LayerView& v, const ForwardOptions& o, Program* p, ForwardGraph* fg)
      : g_(g), v_(v), opt_(o), P_(*p), fg_(*fg) {}

  Status Run();

 private:
  Status Err(const ir::Node& n, const std::string& msg) const {
    return Unsupported(g_.source + ": " + n.name + " (" + ir::OpName(n.op) + "): " + msg);
  }
  // The program tensor of an ir value, or a new int8 arena tensor for a node output.
  int Tensor(int value) const { return fg_.tensor_of_value[static_cast<size_t>(value)]; }
  int NewOutput(const ir::Node& n, const std::string& name) {
    const ir::Value& v = g_.value(n.outputs[0]);
    TensorInfo t;
    t.name = name;
    t.dtype = DType::kInt8;
    t.shape = v.shape;
    const int id = P_.AddTensor(t);
    fg_.tensor_of_value[static_cast<size_t>(n.outputs[0])] = id;
    return id;
  }
  // Appends the op (with the output's clamp mask when asked for) and returns the output tensor.
  int Emit(Op op, const ir::Node& n, const std::string& name) {
    const int y = NewOutput(n, name + ".out");
    op.outs = {y};
    const size_t out = static_cast<size_t>(n.outputs[0]);
    if (out < opt_.mask.size() && opt_.mask[out]) {
      TensorInfo mk;
      mk.name = name + ".mask";
      mk.dtype = DType::kUInt8;
      mk.bits = true;
      mk.shape = P_.tensors[static_cast<size_t>(y)].shape;
      const int m = P_.AddTensor(mk);
      op.outs.push_back(m);
      fg_.mask_of_value[out] = m;
    }
    P_.AddOp(std::move(op));
    return y;
  }

  Status Conv(const ir::Node& n, int index, const std::string& name);
  Status Add(const ir::Node& n, const std::string& name);
  Status Mean(const ir::Node& n, const std::string& name);
  Status Pad(const ir::Node& n, const std::string& name);
  Status Reshape(const ir::Node& n, const std::string& name);
  Status Softmax(const ir::Node& n, const std::string& name);
  Status Pool(const ir::Node& n, const std::string& name);

  const ir::Graph& g_;
  const LayerView& v_;
  const ForwardOptions& opt_;
  Program& P_;
  ForwardGraph& fg_;
};

Status Lowering::Conv(const ir::Node& n, int index, const std::string& name) {
  const ir::Value& x = g_.value(n.inputs[0]);
  const ir::Value& w = g_.value(n.inputs[1]);
  const ir::Value& bias = g_.value(n.inputs[2]);
  const ir::Value& y = g_.value(n.outputs[0]);
  ConvBinding b;
  b.index = index;
  b.name = name;
  b.node = static_cast<int>(&n - g_.nodes.data());
  b.cin = static_cast<int>(x.shape[0]);
  b.in_h = static_cast<int>(x.shape[1]);
  b.in_w = static_cast<int>(x.shape[2]);
  b.cout = static_cast<int>(w.shape[0]);
  b.out_h = static_cast<int>(y.shape[1]);
  b.out_w = static_cast<int>(y.shape[2]);
  b.kh = static_cast<int>(w.shape[2]);
  b.kw = static_cast<int>(w.shape[3]);
  if (n.op == ir::OpKind::kFullyConnected) {
    b.fully_connected = true;  // the conv whose kernel is the whole input
  } else {
    const ir::Window2d& win = n.window;
    b.groups = n.groups;
    b.depthwise = n.op == ir::OpKind::kDepthwiseConv2d;
    b.sh = win.sh, b.sw = win.sw, b.dh = win.dh, b.dw = win.dw;
    b.pad_t = win.pad_t, b.pad_b = win.pad_b, b.pad_l = win.pad_l, b.pad_r = win.pad_r;
  }
  b.x_zero = x.quant.zero[0];
  b.y_zero = y.quant.zero[0];
  b.x_scale = x.quant.scale[0];
  b.y_scale = y.quant.scale[0];
  b.act_min = n.act_min;
  b.act_max = n.act_max;
  b.requant = RequantOf(g_);
  b.w_frozen = FlashTensor(&P_, name + ".weight", DType::kInt8, w.shape, w.as<int8_t>(), static_cast<size_t>(w.numel()));
  b.n_frozen = b.selection_count();
  b.bias_i32 = FlashTensor(&P_, name + ".bias", DType::kInt32, {b.cout}, bias.as<int32_t>(), static_cast<size_t>(b.cout));
  const std::vector<float> eff = EffectiveScales(g_, n);
  b.eff = FlashTensor(&P_, name + ".eff", DType::kFloat32, {b.cout}, eff.data(), eff.size());
  if (b.requant == kRequantTflite) {
    // TFLite's Prepare: the effective scale in double from the float32 scales, as a Q31 multiplier and a shift.
    std::vector<int32_t> mult(static_cast<size_t>(b.cout)), shift(static_cast<size_t>(b.cout));
    for (size_t o = 0; o < mult.size(); ++o) {
      const double sw = w.quant.scale[w.quant.scale.size() == 1 ? 0 : o];
      tte_quantize_multiplier(b.x_scale * sw / b.y_scale, &mult[o], &shift[o]);
    }
    b.mult = FlashTensor(&P_, name + ".mult", DType::kInt32, {b.cout}, mult.data(), mult.size());
    b.shift = FlashTensor(&P_, name + ".shift", DType::kInt32, {b.cout}, shift.data(), shift.size());
  }
  P_.convs[static_cast<size_t>(index)] = b;
  Op op(OpCode::kConv);
  op.conv = index;
  op.ins = {Tensor(n.inputs[0])};
  fg_.conv_in[static_cast<size_t>(index)] = op.ins[0];
  fg_.conv_out[static_cast<size_t>(index)] = Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Add(const ir::Node& n, const std::string& name) {
  const ir::Quant &q1 = g_.value(n.inputs[0]).quant, &q2 = g_.value(n.inputs[1]).quant, &qy = g_.value(n.outputs[0]).quant;
  AddBinding a;
  a.n = static_cast<int>(g_.value(n.outputs[0]).numel());
  a.z1 = q1.zero[0], a.z2 = q2.zero[0], a.zy = qy.zero[0];
  a.s1d = q1.scale[0], a.s2d = q2.scale[0], a.syd = qy.scale[0];
  a.s1 = static_cast<float>(a.s1d), a.s2 = static_cast<float>(a.s2d), a.sy = static_cast<float>(a.syd);
  a.act_min = n.act_min;
  a.act_max = n.act_max;
  a.requant = RequantOf(g_);
  Op op(OpCode::kAdd);
  op.aux = static_cast<int>(P_.adds.size());
  P_.adds.push_back(a);
  op.ins = {Tensor(n.inputs[0]), Tensor(n.inputs[1])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Pool(const ir::Node& n, const std::string& name) {
  const std::vector<int64_t>& xs = g_.value(n.inputs[0]).shape;
  const std::vector<int64_t>& ys = g_.value(n.outputs[0]).shape;
  PoolBinding p;
  p.c = static_cast<int>(xs[0]);
  p.in_h = static_cast<int>(xs[1]), p.in_w = static_cast<int>(xs[2]);
  p.out_h = static_cast<int>(ys[1]), p.out_w = static_cast<int>(ys[2]);
  const ir::Window2d& w = n.window;
  p.kh = w.kh, p.kw = w.kw, p.sh = w.sh, p.sw = w.sw;
  p.pad_t = w.pad_t, p.pad_b = w.pad_b, p.pad_l = w.pad_l, p.pad_r = w.pad_r;
  p.global = n.global_pool;
  p.act_min = n.act_min;
  p.act_max = n.act_max;
  p.requant = RequantOf(g_);
  Op op(OpCode::kAvgPool);
  op.aux = static_cast<int>(P_.pools.size());
  P_.pools.push_back(p);
  op.ins = {Tensor(n.inputs[0])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Mean(const ir::Node& n, const std::string& name) {
  const ir::Value& x = g_.value(n.inputs[0]);
  const ir::Value& y = g_.value(n.outputs[0]);
  MeanBinding m;
  m.c = static_cast<int>(x.shape[0]), m.h = static_cast<int>(x.shape[1]), m.w = static_cast<int>(x.shape[2]);
  m.x_zero = x.quant.zero[0], m.y_zero = y.quant.zero[0];
  m.x_scale = x.quant.scale[0], m.y_scale = y.quant.scale[0];
  m.act_min = n.act_min, m.act_max = n.act_max;
  if (m.act_min != -128 || m.act_max != 127) return Err(n, "a clamped mean is not supported");
  Op op(OpCode::kMean);
  op.aux = static_cast<int>(P_.means.size());
  P_.means.push_back(m);
  op.ins = {Tensor(n.inputs[0])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Pad(const ir::Node& n, const std::string& name) {
  const ir::Value& x = g_.value(n.inputs[0]);
  PadBinding b;
  b.c = static_cast<int>(x.shape[0]), b.h = static_cast<int>(x.shape[1]), b.w = static_cast<int>(x.shape[2]);
  const int pads[6] = {n.pad_c[0], n.pad_c[1], n.pad_h[0], n.pad_h[1], n.pad_w[0], n.pad_w[1]};
  std::copy(pads, pads + 6, b.pad);
  b.value = g_.value(n.outputs[0]).quant.zero[0];
  Op op(OpCode::kPad);
  op.aux = static_cast<int>(P_.pads.size());
  P_.pads.push_back(b);
  op.ins = {Tensor(n.inputs[0])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Reshape(const ir::Node& n, const std::string& name) {
  const std::vector<int64_t>& a = g_.value(n.inputs[0]).shape;
  const std::vector<int64_t>& b = g_.value(n.outputs[0]).shape;
  ReshapeBinding r{static_cast<int>(a[0]), static_cast<int>(a[1]), static_cast<int>(a[2]),
                   static_cast<int>(b[0]), static_cast<int>(b[1]), static_cast<int>(b[2])};
  Op op(OpCode::kReshape);
  op.aux = static_cast<int>(P_.reshapes.size());
  P_.reshapes.push_back(r);
  op.ins = {Tensor(n.inputs[0])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Softmax(const ir::Node& n, const std::string& name) {
  const ir::Value& x = g_.value(n.inputs[0]);
  const ir::Value& y = g_.value(n.outputs[0]);
  SoftmaxBinding b;
  b.n = static_cast<int>(x.shape[0]);
  if (x.numel() != x.shape[0]) return Err(n, "softmax over more than one row");
  b.beta = 1.0;
  b.x_scale = x.quant.scale[0], b.x_zero = x.quant.zero[0];
  b.y_scale = y.quant.scale[0], b.y_zero = y.quant.zero[0];
  if (b.y_zero != -128 || b.y_scale != 1.0 / 256) return Err(n, "int8 softmax output must have scale 1/256 and zero point -128");
  Op op(OpCode::kSoftmax);
  op.aux = static_cast<int>(P_.softmaxes.size());
  P_.softmaxes.push_back(b);
  op.ins = {Tensor(n.inputs[0])};
  Emit(std::move(op), n, name);
  return Status::Ok();
}

Status Lowering::Run() {
  const std::vector<std::vector<std::string>> stage = StageNames(g_);
  const size_t n_layers = v_.layers.size();
  P_.convs.assign(n_layers + (opt_.int8_classifier && v_.head_node >= 0 ? 1 : 0), ConvBinding{});
  fg_.conv_in.assign(P_.convs.size(), -1);
  fg_.conv_out.assign(P_.convs.size(), -1);
  fg_.tensor_of_value.assign(g_.values.size(), -1);
  fg_.mask_of_value.assign(g_.values.size(), -1);
  // Activations are bounded before anything is planned or allocated (core/limits.h).
  const std::vector<int> producer = g_.Producers();
  for (size_t v = 0; v < g_.values.size(); ++v) {
    const ir::Value& val = g_.values[v];
    if (val.is_const() || val.numel() <= limits::kMaxActivationBytes) continue;
    const int node = producer[v];
    std::string dims;
    for (int64_t d : val.shape) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    return InvalidArgument(g_.source + ": " + (node < 0 ? std::string("input") : g_.nodes[static_cast<size_t>(node)].name + " output") +
                           ": " + dims + " bytes of activations exceed the limit of " +
                           std::to_string(limits::kMaxActivationBytes));
  }
  const ir::Value& in = g_.value(g_.input);
  TensorInfo t;
  t.name = "input";
  t.dtype = DType::kInt8;
  t.shape = in.shape;
  t.is_input = true;
  P_.input = P_.AddTensor(t);
  P_.resolution = static_cast<int>(in.shape[1]);
  fg_.tensor_of_value[static_cast<size_t>(g_.input)] = P_.input;
  bool after_head = false;
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const ir::Node& n = g_.nodes[i];
    const int layer = v_.layer_of_node[i];
    const bool is_head = static_cast<int>(i) == v_.head_node;
    if (is_head) fg_.features = Tensor(n.inputs[0]);
    // Training programs end at the features; inference keeps the classifier and, if asked, the softmax.
    if ((is_head || after_head) && !opt_.int8_classifier) {
      after_head = true;
      continue;
    }
    if (static_cast<int>(i) == v_.softmax_node && !opt_.softmax) continue;
    if (Tensor(n.inputs[0]) < 0) continue;  // downstream of a dropped node
    const std::string name = NodeShortName(g_, v_, static_cast<int>(i));
    switch (n.op) {
      case ir::OpKind::kConv2d:
      case ir::OpKind::kDepthwiseConv2d:
      case ir::OpKind::kFullyConnected:
        if (layer < 0 && !is_head) return Err(n, "a conv that is neither a layer nor the classifier");
        TTE_RETURN_IF_ERROR(Conv(n, is_head ? static_cast<int>(n_layers) : layer, name));
        break;
      case ir::OpKind::kAdd:
        TTE_RETURN_IF_ERROR(Add(n, name));
        break;
      case ir::OpKind::kAvgPool2d:
        TTE_RETURN_IF_ERROR(Pool(n, name));
        break;
      case ir::OpKind::kReshape:
        if (!TrivialReshape(g_, n)) {
          TTE_RETURN_IF_ERROR(Reshape(n, name));
          break;
        }
        fg_.tensor_of_value[static_cast<size_t>(n.outputs[0])] = Tensor(n.inputs[0]);  // a view: same bytes
        break;
      case ir::OpKind::kMean:
        TTE_RETURN_IF_ERROR(Mean(n, name));
        break;
      case ir::OpKind::kPad:
        TTE_RETURN_IF_ERROR(Pad(n, name));
        break;
      case ir::OpKind::kSoftmax:
        TTE_RETURN_IF_ERROR(Softmax(n, name));
        break;
    }
    const int out = Tensor(n.outputs[0]);
    if (out >= 0)
      for (const std::string& name : stage[i]) fg_.stages.emplace_back(name, out);
    if (is_head) {
      P_.tensors[static_cast<size_t>(out)].is_output = true;
      P_.logits = out;
    }
  }
  if (opt_.int8_classifier && P_.logits < 0) {
    const int out = Tensor(g_.output);
    if (out < 0) return Unsupported(g_.source + ": the graph's output is not computed by the lowered program");
    P_.tensors[static_cast<size_t>(out)].is_output = true;
    P_.logits = out;
  }
  if (!opt_.int8_classifier && fg_.features < 0)
    return InvalidArgument(g_.source + ": no classifier found (a fully connected or whole-input conv layer producing the "
                           "output, possibly through reshapes and a softmax): tte trains an fp32 head in its place");
  return Status::Ok();
}

}  // namespace

std::vector<float> EffectiveScales(const ir::Graph& g, const ir::Node& n) {
  const ir::Value& w = g.value(n.inputs[1]);
  const double sx = g.value(n.inputs[0]).quant.scale[0], sy = g.value(n.outputs[0]).quant.scale[0];
  const size_t cout = static_cast<size_t>(w.shape[0]);
  std::vector<float> eff(cout);
  for (size_t c = 0; c < cout; ++c) eff[c] = static_cast<float>(sx * w.quant.scale[w.quant.scale.size() == 1 ? 0 : c] / sy);
  return eff;
}

int AppendHeadForward(Program* prog, int features, int num_classes) {
  TensorInfo lg;
  lg.name = "logits";
  lg.dtype = DType::kFloat32;
  lg.shape = {num_classes};
  lg.is_output = true;
  prog->logits = prog->AddTensor(lg);
  Op op(OpCode::kHeadForward);
  op.ins = {features};
  op.outs = {prog->logits};
  op.note = "fp32 linear over (x - z) * s_x of the features";
  prog->AddOp(op);
  return prog->logits;
}

Result<ForwardGraph> BuildForward(const ir::Graph& g, const LayerView& view, const ForwardOptions& opt, Program* prog) {
  ForwardGraph fg;
  TTE_RETURN_IF_ERROR(Lowering(g, view, opt, prog, &fg).Run());
  return fg;
}

}  // namespace tte
