// ir::Verify: the structural and quantization checks run after every importer and every pass (see graph.h).
#include <cmath>
#include <string>

#include "ir/graph.h"

namespace tte::ir {
namespace {

class Verifier {
 public:
  explicit Verifier(const Graph& g) : g_(g) {}

  Status Run() {
    const int nv = static_cast<int>(g_.values.size());
    if (g_.input < 0 || g_.input >= nv) return Err("graph input v" + std::to_string(g_.input) + " is not a value");
    if (g_.output < 0 || g_.output >= nv) return Err("graph output v" + std::to_string(g_.output) + " is not a value");
    for (int i = 0; i < nv; ++i) TTE_RETURN_IF_ERROR(CheckValue(i));
    TTE_RETURN_IF_ERROR(CheckActivation(g_.input, "graph input"));
    const InputSpec& s = g_.input_spec;
    const Value& in = g_.value(g_.input);
    if (in.shape != std::vector<int64_t>{s.c, s.h, s.w})
      return Err("input spec " + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) +
                 " does not match the input value's shape " + ShapeString(in.shape));
    // Topological order, one producer per value.
    std::vector<int> produced_by(g_.values.size(), -1);
    std::vector<bool> ready(g_.values.size(), false);
    ready[static_cast<size_t>(g_.input)] = true;
    for (int i = 0; i < nv; ++i)
      if (g_.values[static_cast<size_t>(i)].is_const()) ready[static_cast<size_t>(i)] = true;
    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      node_ = static_cast<int>(n);
      const Node& nd = g_.nodes[n];
      for (int v : nd.inputs) {
        if (v < 0 || v >= nv) return NodeErr("input v" + std::to_string(v) + " is not a value");
        if (!ready[static_cast<size_t>(v)]) return NodeErr("reads v" + std::to_string(v) + " '" + g_.value(v).name + "' before it is computed");
      }
      for (int v : nd.outputs) {
        if (v < 0 || v >= nv) return NodeErr("output v" + std::to_string(v) + " is not a value");
        if (g_.value(v).is_const() || v == g_.input) return NodeErr("writes the constant or input v" + std::to_string(v));
        if (produced_by[static_cast<size_t>(v)] >= 0)
          return NodeErr("v" + std::to_string(v) + " is also produced by node " + std::to_string(produced_by[static_cast<size_t>(v)]));
        produced_by[static_cast<size_t>(v)] = static_cast<int>(n);
        ready[static_cast<size_t>(v)] = true;
      }
      TTE_RETURN_IF_ERROR(CheckNode(nd));
    }
    node_ = -1;
    if (!ready[static_cast<size_t>(g_.output)]) return Err("graph output v" + std::to_string(g_.output) + " is never computed");
    if (g_.fp_head.in > 0) {
      const FpHead& h = g_.fp_head;
      if (h.out < 1 || h.weight.size() != static_cast<size_t>(h.in) * static_cast<size_t>(h.out) ||
          h.bias.size() != static_cast<size_t>(h.out))
        return Err("fp32 head: " + std::to_string(h.weight.size()) + " weights and " + std::to_string(h.bias.size()) +
                   " biases for " + std::to_string(h.out) + " x " + std::to_string(h.in));
    }
    return Status::Ok();
  }

 private:
  Status Err(const std::string& msg) const { return InvalidArgument(g_.source + ": " + msg); }
  Status NodeErr(const std::string& msg) const {
    const Node& n = g_.nodes[static_cast<size_t>(node_)];
    return InvalidArgument(g_.source + ": node " + std::to_string(node_) + " " + OpName(n.op) + " '" + n.name + "': " + msg);
  }
  std::string V(int id) const { return "v" + std::to_string(id) + " '" + g_.value(id).name + "'"; }

  Status CheckValue(int id) const {
    const Value& v = g_.value(id);
    for (int64_t d : v.shape)
      if (d < 1 || d > (int64_t{1} << 24)) return Err("value " + V(id) + ": bad shape " + ShapeString(v.shape));
    if (v.is_const() && static_cast<int64_t>(v.data.size()) != v.numel() * static_cast<int64_t>(DTypeSize(v.dtype)))
      return Err("value " + V(id) + ": " + std::to_string(v.data.size()) + " bytes of data for " + DTypeName(v.dtype) +
                 ShapeString(v.shape));
    const Quant& q = v.quant;
    if (q.scale.size() != q.zero.size())
      return Err("value " + V(id) + ": " + std::to_string(q.scale.size()) + " scales but " + std::to_string(q.zero.size()) +
                 " zero points");
    for (double s : q.scale)
      if (!std::isfinite(s) || s <= 0) return Err("value " + V(id) + ": scale " + std::to_string(s) + " is not finite and > 0");
    for (int32_t z : q.zero)
      if (z < -128 || z > 127) return Err("value " + V(id) + ": zero point " + std::to_string(z) + " is outside int8");
    return Status::Ok();
  }

  Status CheckActivation(int id, const std::string& what) const {
    const Value& v = g_.value(id);
    if (v.dtype != DType::kInt8) return Err(what + " " + V(id) + " is " + DTypeName(v.dtype) + ", expected int8");
    if (v.shape.size() != 3) return Err(what + " " + V(id) + " has shape " + ShapeString(v.shape) + ", expected [C,H,W]");
    if (v.quant.scale.size() != 1) return Err(what + " " + V(id) + " needs one scale and zero point (has " + std::to_string(v.quant.scale.size()) + ")");
    return Status::Ok();
  }

  Status Arity(const Node& n) const {
    const size_t want = static_cast<size_t>(DataInputs(n.op) + ConstInputs(n.op));
    if (n.inputs.size() != want) return NodeErr("has " + std::to_string(n.inputs.size()) + " inputs, expected " + std::to_string(want));
    if (n.outputs.size() != 1) return NodeErr("has " + std::to_string(n.outputs.size()) + " outputs, expected 1");
    for (int j = 0; j < DataInputs(n.op); ++j)
      if (g_.value(n.inputs[static_cast<size_t>(j)]).is_const()) return NodeErr("data input " + V(n.inputs[static_cast<size_t>(j)]) + " is a constant");
    for (size_t j = static_cast<size_t>(DataInputs(n.op)); j < n.inputs.size(); ++j)
      if (!g_.value(n.inputs[j]).is_const()) return NodeErr("parameter " + V(n.inputs[j]) + " is not a constant");
    if (n.act_min < -128 || n.act_max > 127 || n.act_min > n.act_max)
      return NodeErr("activation range [" + std::to_string(n.act_min) + ", " + std::to_string(n.act_max) + "] is not inside int8");
    return Status::Ok();
  }

  Status Shape(int id, const std::vector<int64_t>& want, const std::string& what) const {
    if (g_.value(id).shape != want)
      return NodeErr(what + " " + V(id) + " has shape " + ShapeString(g_.value(id).shape) + ", expected " + ShapeString(want));
    return Status::Ok();
  }

  Status CheckWindow(const Window2d& w) const {
    if (w.kh < 1 || w.kw < 1 || w.sh < 1 || w.sw < 1 || w.dh < 1 || w.dw < 1 || w.pad_t < 0 || w.pad_b < 0 || w.pad_l < 0 ||
        w.pad_r < 0)
      return NodeErr("bad window: kernel, stride and dilation must be >= 1 and pads >= 0");
    if (w.pad_t > (w.kh - 1) * w.dh || w.pad_b > (w.kh - 1) * w.dh || w.pad_l > (w.kw - 1) * w.dw ||
        w.pad_r > (w.kw - 1) * w.dw)
      return NodeErr("padding as large as the kernel: a window would lie entirely in the padding");
    return Status::Ok();
  }

  // Weights: int8, per-channel (O) or per-tensor scales, zero points 0. Bias: int32 [O].
  Status CheckParams(const Node& n, int64_t out_channels) const {
    const Value& w = g_.value(n.inputs[1]);
    const Value& b = g_.value(n.inputs[2]);
    if (w.dtype != DType::kInt8) return NodeErr("weight " + V(n.inputs[1]) + " is " + DTypeName(w.dtype) + ", expected int8");
    if (w.quant.scale.size() != 1 && static_cast<int64_t>(w.quant.scale.size()) != out_channels)
      return NodeErr("weight " + V(n.inputs[1]) + " has " + std::to_string(w.quant.scale.size()) + " scales for " +
                     std::to_string(out_channels) + " output channels");
    for (int32_t z : w.quant.zero)
      if (z != 0) return NodeErr("weight " + V(n.inputs[1]) + " has zero point " + std::to_string(z) + " (int8 weights are symmetric: 0)");
    if (b.dtype != DType::kInt32) return NodeErr("bias " + V(n.inputs[2]) + " is " + DTypeName(b.dtype) + ", expected int32");
    return Shape(n.inputs[2], {out_channels}, "bias");
  }

  Status CheckNode(const Node& n) const {
    TTE_RETURN_IF_ERROR(Arity(n));
    const int x = n.inputs[0], y = n.outputs[0];
    TTE_RETURN_IF_ERROR(CheckActivation(x, "input"));
    TTE_RETURN_IF_ERROR(CheckActivation(y, "output"));
    const std::vector<int64_t>& xs = g_.value(x).shape;
    const int64_t C = xs[0], H = xs[1], W = xs[2];
    const Window2d& w = n.window;
    switch (n.op) {
      case OpKind::kConv2d:
      case OpKind::kDepthwiseConv2d: {
        TTE_RETURN_IF_ERROR(CheckWindow(w));
        const Value& wt = g_.value(n.inputs[1]);
        if (wt.shape.size() != 4) return NodeErr("weight " + V(n.inputs[1]) + " is not 4-D OIHW: " + ShapeString(wt.shape));
        const int64_t O = wt.shape[0];
        if (n.op == OpKind::kDepthwiseConv2d) {
          if (n.groups != C) return NodeErr("depthwise groups " + std::to_string(n.groups) + " != input channels " + std::to_string(C));
          if (n.depth_multiplier < 1 || O != C * n.depth_multiplier)
            return NodeErr("depthwise weight has " + std::to_string(O) + " output channels for " + std::to_string(C) +
                           " inputs x multiplier " + std::to_string(n.depth_multiplier));
        }
        if (n.groups < 1 || C % n.groups || O % n.groups)
          return NodeErr("groups " + std::to_string(n.groups) + " does not divide " + std::to_string(C) + " inputs and " +
                         std::to_string(O) + " outputs");
        TTE_RETURN_IF_ERROR(Shape(n.inputs[1], {O, C / n.groups, w.kh, w.kw}, "weight"));
        TTE_RETURN_IF_ERROR(CheckParams(n, O));
        const int oh = WindowOutSize(static_cast<int>(H), w.kh, w.sh, w.dh, w.pad_t, w.pad_b);
        const int ow = WindowOutSize(static_cast<int>(W), w.kw, w.sw, w.dw, w.pad_l, w.pad_r);
        if (oh < 1 || ow < 1) return NodeErr("input " + ShapeString(xs) + " is smaller than the kernel");
        return Shape(y, {O, oh, ow}, "output");
      }
      case OpKind::kFullyConnected: {
        const Value& wt = g_.value(n.inputs[1]);
        if (wt.shape.size() != 4) return NodeErr("weight " + V(n.inputs[1]) + " is not [out, C, H, W]: " + ShapeString(wt.shape));
        TTE_RETURN_IF_ERROR(Shape(n.inputs[1], {wt.shape[0], C, H, W}, "weight"));
        TTE_RETURN_IF_ERROR(CheckParams(n, wt.shape[0]));
        return Shape(y, {wt.shape[0], 1, 1}, "output");
      }
      case OpKind::kAdd:
        TTE_RETURN_IF_ERROR(CheckActivation(n.inputs[1], "second input"));
        TTE_RETURN_IF_ERROR(Shape(n.inputs[1], xs, "second input"));
        return Shape(y, xs, "output");
      case OpKind::kAvgPool2d: {
        if (n.global_pool) {
          if (w.kh != H || w.kw != W || w.pad_t || w.pad_b || w.pad_l || w.pad_r)
            return NodeErr("a global pool's window must be the whole " + std::to_string(H) + "x" + std::to_string(W) + " input");
        }
        if (w.dh != 1 || w.dw != 1) return NodeErr("pooling has no dilation");
        TTE_RETURN_IF_ERROR(CheckWindow(w));
        const Quant &qi = g_.value(x).quant, &qo = g_.value(y).quant;
        if (qi.scale != qo.scale || qi.zero != qo.zero) return NodeErr("average pooling needs the same scale and zero point in and out");
        const int oh = WindowOutSize(static_cast<int>(H), w.kh, w.sh, 1, w.pad_t, w.pad_b);
        const int ow = WindowOutSize(static_cast<int>(W), w.kw, w.sw, 1, w.pad_l, w.pad_r);
        if (oh < 1 || ow < 1) return NodeErr("input " + ShapeString(xs) + " is smaller than the window");
        return Shape(y, {C, oh, ow}, "output");
      }
      case OpKind::kMean:
        return Shape(y, {C, 1, 1}, "output");
      case OpKind::kReshape:
        if (g_.value(y).numel() != g_.value(x).numel())
          return NodeErr("reshape from " + ShapeString(xs) + " to " + ShapeString(g_.value(y).shape) + " changes the element count");
        return Status::Ok();
      case OpKind::kPad: {
        for (int v : {n.pad_c[0], n.pad_c[1], n.pad_h[0], n.pad_h[1], n.pad_w[0], n.pad_w[1]})
          if (v < 0) return NodeErr("negative padding");
        const Quant &qi = g_.value(x).quant, &qo = g_.value(y).quant;
        if (qi.scale != qo.scale || qi.zero != qo.zero) return NodeErr("pad needs the same scale and zero point in and out");
        return Shape(y, {C + n.pad_c[0] + n.pad_c[1], H + n.pad_h[0] + n.pad_h[1], W + n.pad_w[0] + n.pad_w[1]}, "output");
      }
      case OpKind::kSoftmax:
        return Shape(y, xs, "output");
    }
    return NodeErr("unknown op kind");
  }

  const Graph& g_;
  int node_ = -1;
};

}  // namespace

Status Verify(const Graph& g) { return Verifier(g).Run(); }

}  // namespace tte::ir
