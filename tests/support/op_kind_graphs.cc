// The op-kind test graphs (see op_kind_graphs.h).
#include "support/op_kind_graphs.h"

#include "support/graph_builder.h"

namespace tte::testing {
namespace {

ir::Window2d Win(int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pb, int pl, int pr) {
  ir::Window2d w;
  w.kh = kh, w.kw = kw, w.sh = sh, w.sw = sw, w.dh = dh, w.dw = dw;
  w.pad_t = pt, w.pad_b = pb, w.pad_l = pl, w.pad_r = pr;
  return w;
}
const ir::Window2d k3 = Win(3, 3, 1, 1, 1, 1, 1, 1, 1, 1);

// conv2d: rectangular kernels, per-axis stride and dilation, asymmetric pads, three clamp ranges.
ir::Graph ConvGeometry(ir::Requant m) {
  GraphBuilder b(m, {3, 13, 11}, 21);
  const int x =
      b.Conv(b.input(), 6, Win(3, 2, 2, 1, 1, 2, 0, 2, 1, 0), 1, false, -20, 127);   // ReLU-like
  const int y = b.Conv(x, 5, Win(2, 3, 1, 2, 2, 1, 1, 1, 0, 2), 1, false, -60, 40);  // RELU6-like
  const int z = b.Conv(y, 4, Win(2, 2, 1, 1, 1, 1, 1, 0, 0, 1));                     // none
  return b.Finish(b.Fc(b.GlobalPool(z), kOpKindClasses));
}

// Grouped convs (groups 2 and 4) between trained convs: input, weight and bias gradients.
ir::Graph Grouped(ir::Requant m) {
  GraphBuilder b(m, {4, 9, 8}, 22);
  const int x = b.Conv(b.input(), 6, k3);
  const int y = b.Conv(x, 8, Win(3, 1, 2, 1, 1, 1, 1, 1, 0, 0), 2, false, -40, 127);
  const int z = b.Conv(y, 8, Win(1, 2, 1, 1, 1, 1, 0, 0, 1, 0), 4);
  return b.Finish(b.Fc(b.GlobalPool(b.Conv(z, 6, {})), kOpKindClasses));
}

// Depthwise: multiplier 2 with stride, dilation and asymmetric pads; multiplier 1 stride 2 (the
// host fast paths).
ir::Graph Depthwise(ir::Requant m) {
  GraphBuilder b(m, {3, 12, 11}, 23);
  const int x = b.Conv(b.input(), 4, k3);
  const int y = b.Conv(x, 8, Win(3, 3, 2, 1, 2, 1, 2, 1, 1, 2), 0, true, -30, 90);
  const int z = b.Conv(y, 8, Win(3, 3, 2, 2, 1, 1, 1, 1, 1, 1), 0, true);
  const int u = b.Conv(z, 16, Win(2, 3, 1, 1, 1, 2, 0, 1, 2, 0), 0, true, -128, 60);
  return b.Finish(b.Fc(b.GlobalPool(u), kOpKindClasses));
}

// Fully connected over a [C,H,W] input (weights [out,C,H,W]), then over a vector, then the
// classifier.
ir::Graph FullyConnected(ir::Requant m) {
  GraphBuilder b(m, {3, 7, 6}, 24);
  const int x = b.Conv(b.input(), 4, Win(3, 3, 2, 2, 1, 1, 1, 1, 1, 1));
  const int f = b.Fc(x, 10, -128, 60);
  return b.Finish(b.Fc(b.Fc(f, 7, -10, 127), kOpKindClasses));
}

// Adds: a shortcut conv and the main path; a value read by two convs and an add; an add read by two
// adds.
ir::Graph Adds(ir::Requant m) {
  GraphBuilder b(m, {3, 10, 10}, 25);
  const int v = b.Conv(b.input(), 6, k3);
  const int a = b.Conv(v, 6, k3, 1, false, -50, 127);
  const int s = b.Conv(v, 6, {});
  const int t = b.Add(a, s, -100, 100);
  const int u = b.Add(t, v);
  const int w = b.Add(u, t, -128, 80);
  return b.Finish(b.Fc(b.GlobalPool(w), kOpKindClasses));
}

// Windowed average pools: border windows count only in-image taps; a clamped pool (fused
// activation).
ir::Graph Pools(ir::Requant m) {
  GraphBuilder b(m, {3, 12, 10}, 26);
  const int x = b.Conv(b.input(), 6, k3);
  const int p = b.AvgPool(x, Win(3, 2, 2, 1, 1, 1, 1, 1, 0, 1));
  const int y = b.Conv(p, 5, k3);
  const int q = b.AvgPool(y, Win(2, 3, 2, 2, 1, 1, 0, 1, 1, 1), -30, 40);
  return b.Finish(b.Fc(q, kOpKindClasses));
}

// TFLite MEAN over H, W: requantized (saturating: its output scale is smaller) or the plain
// truncating mean.
ir::Graph Mean(ir::Requant m, bool same_quant) {
  GraphBuilder b(m, {3, 9, 7}, 27);
  const int x = b.Conv(b.input(), 6, k3, 1, false, -128, 127);
  const int y = b.Mean(x);
  ir::Graph g = b.Finish(b.Fc(y, kOpKindClasses));
  ir::Quant& q = g.values[static_cast<size_t>(y)].quant;
  if (same_quant)
    q = g.value(x).quant;
  else  // a fine output scale: channel means far from the zero point saturate
    q.scale[0] = static_cast<float>(g.value(x).quant.scale[0] * 0.15);
  return g;
}

// Pad (channels too), an NHWC-order reshape between convs, a plain CHW reshape, an NHWC flatten
// before the head.
ir::Graph PadReshape(ir::Requant m) {
  GraphBuilder b(m, {3, 8, 7}, 28);
  const int x = b.Conv(b.input(), 4, k3);
  const int p = b.Pad(x, {1, 0, 2, 1, 0, 3});                     // [5, 11, 10]
  const int y = b.Conv(p, 6, Win(3, 3, 2, 2, 1, 1, 0, 0, 0, 0));  // [6, 5, 4]
  const int r = b.Reshape(y, {4, 5, 6}, true);
  const int z = b.Conv(r, 3, {});  // [3, 5, 6]
  const int r2 = b.Reshape(z, {6, 5, 3}, false);
  const int w = b.Conv(r2, 2, Win(1, 2, 1, 1, 1, 1, 0, 0, 0, 1));  // [2, 5, 3]
  return b.Finish(b.Fc(b.Reshape(w, {30, 1, 1}, true), kOpKindClasses));
}

}  // namespace

const OpKindGraph kOpKindGraphs[9] = {
    {"conv2d_geometry", ConvGeometry, true},
    {"grouped_conv", Grouped, true},
    {"depthwise", Depthwise, true},
    {"fully_connected", FullyConnected, true},
    {"add_fanout", Adds, true},
    {"avg_pool", Pools, true},
    {"mean_requant", [](ir::Requant m) { return Mean(m, false); }, true},
    {"mean_same_quant", [](ir::Requant m) { return Mean(m, true); }, false},
    {"pad_reshape", PadReshape, false},
};

}  // namespace tte::testing
