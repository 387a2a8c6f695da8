// .pkl Model -> ir::Graph (see graph_from_model.h).
#include "import/pkl/graph_from_model.h"

#include <cstring>

namespace tte {
namespace {

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

class Builder {
 public:
  Builder(const Model& m, ir::Graph* g) : m_(m), g_(*g) {}

  // A new int8 activation value [c, h, w] with one scale and zero point.
  int Activation(const std::string& name, int64_t c, int64_t h, int64_t w, double scale, int zero) {
    ir::Value v;
    v.name = name;
    v.shape = {c, h, w};
    v.quant.scale = {scale};
    v.quant.zero = {zero};
    return g_.AddValue(std::move(v));
  }

  // The layer reads `x` with its own (x_scale, x_zero): they must be the producer's.
  Status SameQuant(int x, double scale, int zero, const std::string& who) const {
    const ir::Quant& q = g_.value(x).quant;
    if (q.scale[0] != scale || q.zero[0] != zero)
      return InvalidArgument(m_.source + ": " + who + ": input scale/zero point " + std::to_string(scale) + "/" +
                             std::to_string(zero) + " differ from its producer's " + std::to_string(q.scale[0]) + "/" +
                             std::to_string(q.zero[0]));
    return Status::Ok();
  }

  Result<int> Conv(const ConvLayer& c, int x) {
    TTE_RETURN_IF_ERROR(SameQuant(x, c.x_scale, c.x_zero, c.path));
    const std::vector<int64_t>& xs = g_.value(x).shape;
    if (xs[0] != c.in_channels)
      return InvalidArgument(m_.source + ": " + c.path + ": expects " + std::to_string(c.in_channels) + " input channels, gets " +
                             std::to_string(xs[0]));
    ir::Node n;
    n.op = c.depthwise ? ir::OpKind::kDepthwiseConv2d : ir::OpKind::kConv2d;
    n.name = c.path;
    n.groups = c.groups;
    n.window.kh = n.window.kw = c.kernel;
    n.window.sh = n.window.sw = c.stride;
    n.window.pad_t = n.window.pad_b = n.window.pad_l = n.window.pad_r = c.pad();
    const int oh = ir::WindowOutSize(static_cast<int>(xs[1]), c.kernel, c.stride, 1, c.pad(), c.pad());
    const int ow = ir::WindowOutSize(static_cast<int>(xs[2]), c.kernel, c.stride, 1, c.pad(), c.pad());
    if (oh < 1 || ow < 1)
      return InvalidArgument(m_.source + ": " + c.path + ": input of " + std::to_string(xs[1]) + "x" + std::to_string(xs[2]) +
                             " is too small for kernel " + std::to_string(c.kernel) + " at stride " + std::to_string(c.stride));
    ir::Value w;
    w.name = c.path + ".weight";
    w.shape = {c.out_channels, c.in_channels / c.groups, c.kernel, c.kernel};
    w.data = Bytes(c.weight);
    for (float s : c.w_scales) w.quant.scale.push_back(static_cast<double>(s));
    w.quant.zero.assign(c.w_scales.size(), 0);
    ir::Value b;
    b.name = c.path + ".bias";
    b.dtype = DType::kInt32;
    b.shape = {c.out_channels};
    b.data = Bytes(c.bias);
    const int wid = g_.AddValue(std::move(w)), bid = g_.AddValue(std::move(b));
    const int y = Activation(c.path + ".out", c.out_channels, oh, ow, c.y_scale, c.y_zero);
    n.inputs = {x, wid, bid};
    n.outputs = {y};
    g_.AddNode(std::move(n));
    return y;
  }

  Result<int> Add(const ResidualAdd& r, int shortcut, int branch, const std::string& name) {
    TTE_RETURN_IF_ERROR(SameQuant(shortcut, r.x_scale, r.x_zero, name));
    const std::vector<int64_t> s = g_.value(branch).shape;
    ir::Node n;
    n.op = ir::OpKind::kAdd;
    n.name = name;
    n.inputs = {shortcut, branch};
    const int y = Activation(name + ".out", s[0], s[1], s[2], r.y_scale, r.y_zero);
    n.outputs = {y};
    g_.AddNode(std::move(n));
    return y;
  }

  int GlobalPool(int x) {
    const ir::Value& xv = g_.value(x);
    const std::vector<int64_t> s = xv.shape;
    ir::Node n;
    n.op = ir::OpKind::kAvgPool2d;
    n.name = "avgpool";
    n.global_pool = true;
    n.window.kh = static_cast<int>(s[1]);
    n.window.kw = static_cast<int>(s[2]);
    n.window.sh = n.window.kh;
    n.window.sw = n.window.kw;
    n.inputs = {x};
    n.outputs = {Activation("avgpool.out", s[0], 1, 1, xv.quant.scale[0], xv.quant.zero[0])};
    const int y = n.outputs[0];
    g_.AddNode(std::move(n));
    return y;
  }

 private:
  const Model& m_;
  ir::Graph& g_;
};

}  // namespace

Result<ir::Graph> GraphFromModel(const Model& m, int resolution) {
  ir::Graph g;
  g.source = m.source;
  g.format = "pkl";
  g.requant = ir::Requant::kReferenceFp32;
  const int R = resolution > 0 ? resolution : m.resolution();
  const ConvLayer& fc = m.first_conv;
  Builder b(m, &g);
  g.input = b.Activation("input", fc.in_channels, R, R, fc.x_scale, fc.x_zero);
  g.input_spec = ir::InputSpec{fc.in_channels, R, R, fc.x_scale, fc.x_zero, ir::PixelRule::kMinus128, false};
  TTE_ASSIGN_OR_RETURN(int cur, b.Conv(fc, g.input));
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const Block& blk = m.blocks[i];
    const int block_in = cur;
    if (blk.pointwise1) {
      TTE_ASSIGN_OR_RETURN(cur, b.Conv(*blk.pointwise1, cur));
    }
    TTE_ASSIGN_OR_RETURN(cur, b.Conv(blk.depthwise, cur));
    TTE_ASSIGN_OR_RETURN(cur, b.Conv(blk.pointwise2, cur));
    if (blk.residual) {
      TTE_ASSIGN_OR_RETURN(cur, b.Add(*blk.residual, block_in, cur, "blocks." + std::to_string(i) + ".residual"));
    }
  }
  if (m.feature_mix) {
    TTE_ASSIGN_OR_RETURN(cur, b.Conv(*m.feature_mix, cur));
  }
  cur = b.GlobalPool(cur);
  TTE_ASSIGN_OR_RETURN(cur, b.Conv(m.classifier, cur));
  g.output = cur;
  if (m.fp_head) {
    g.fp_head = ir::FpHead{m.fp_head->in, m.fp_head->out, m.fp_head->weight, m.fp_head->bias};
    g.class_names = m.fp_head->class_names;
  }
  TTE_RETURN_IF_ERROR(ir::Verify(g));
  return g;
}

}  // namespace tte
