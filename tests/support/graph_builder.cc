// Test graphs (see graph_builder.h).
#include "support/graph_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace tte::testing {

GraphBuilder::GraphBuilder(ir::Requant mode, std::array<int, 3> chw, uint64_t seed) : rng_(seed) {
  g_.source = "test-graph";
  g_.format = mode == ir::Requant::kTfliteInteger ? "tflite" : "pkl-like";
  g_.requant = mode;
  g_.input = Activation("input", {chw[0], chw[1], chw[2]}, 0.02, -3);
  g_.input_spec = ir::InputSpec{chw[0], chw[1], chw[2], 0.02, -3, ir::PixelRule::kScaleZero, false};
}

int GraphBuilder::Activation(const std::string& name, std::vector<int64_t> shape, double scale, int zero) {
  ir::Value v;
  v.name = name;
  v.shape = std::move(shape);
  v.quant.scale = {static_cast<double>(static_cast<float>(scale))};  // scales are float32 in every format
  v.quant.zero = {zero};
  return g_.AddValue(std::move(v));
}

int GraphBuilder::Const(const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<uint8_t> data,
                        ir::Quant q) {
  ir::Value v;
  v.name = name;
  v.dtype = dt;
  v.shape = std::move(shape);
  v.data = std::move(data);
  v.quant = std::move(q);
  return g_.AddValue(std::move(v));
}

int GraphBuilder::Conv(int x, int cout, ir::Window2d w, int groups, bool depthwise, int act_min, int act_max) {
  const ir::Value xv = g_.value(x);
  const int64_t cin = xv.shape[0];
  if (depthwise) groups = static_cast<int>(cin);
  const int64_t ipg = cin / groups;
  const int64_t n = cout * ipg * w.kh * w.kw;
  std::uniform_int_distribution<int> wd(-127, 127), bd(-2000, 2000), zd(-20, 20);
  std::uniform_real_distribution<double> sd(0.004, 0.02);
  std::vector<uint8_t> wdata(static_cast<size_t>(n));
  for (auto& b : wdata) b = static_cast<uint8_t>(static_cast<int8_t>(wd(rng_)));
  ir::Quant wq;
  for (int o = 0; o < cout; ++o) {
    wq.scale.push_back(static_cast<double>(static_cast<float>(sd(rng_))));
    wq.zero.push_back(0);
  }
  std::vector<uint8_t> bdata(static_cast<size_t>(cout) * 4);
  for (int o = 0; o < cout; ++o) {
    const int32_t v = bd(rng_);
    std::memcpy(bdata.data() + 4 * o, &v, 4);
  }
  const std::string name = Name(depthwise ? "dw" : "conv");
  const int wid = Const(name + ".weight", DType::kInt8, {cout, ipg, w.kh, w.kw}, std::move(wdata), wq);
  const int bid = Const(name + ".bias", DType::kInt32, {cout}, std::move(bdata), {});
  const int oh = ir::WindowOutSize(static_cast<int>(xv.shape[1]), w.kh, w.sh, w.dh, w.pad_t, w.pad_b);
  const int ow = ir::WindowOutSize(static_cast<int>(xv.shape[2]), w.kw, w.sw, w.dw, w.pad_l, w.pad_r);
  // An output scale that keeps the accumulators of this fan-in inside int8 most of the time.
  const double fan_in = static_cast<double>(ipg * w.kh * w.kw);
  const int y = Activation(name + ".out", {cout, oh, ow}, xv.quant.scale[0] * 0.012 * std::sqrt(fan_in) * 30.0, zd(rng_));
  ir::Node nd;
  nd.op = depthwise ? ir::OpKind::kDepthwiseConv2d : ir::OpKind::kConv2d;
  nd.name = name;
  nd.inputs = {x, wid, bid};
  nd.outputs = {y};
  nd.window = w;
  nd.groups = groups;
  nd.depth_multiplier = depthwise ? static_cast<int>(cout / cin) : 1;
  nd.act_min = act_min;
  nd.act_max = act_max;
  g_.AddNode(std::move(nd));
  return y;
}

int GraphBuilder::Fc(int x, int cout, int act_min, int act_max) {
  const ir::Value xv = g_.value(x);
  ir::Window2d whole;
  whole.kh = static_cast<int>(xv.shape[1]);
  whole.kw = static_cast<int>(xv.shape[2]);
  const int y = Conv(x, cout, whole, 1, false, act_min, act_max);
  ir::Node& nd = g_.nodes.back();
  nd.op = ir::OpKind::kFullyConnected;
  nd.window = ir::Window2d{};
  nd.name = Name("fc");
  return y;
}

int GraphBuilder::Add(int a, int b, int act_min, int act_max) {
  const ir::Value av = g_.value(a);
  std::uniform_int_distribution<int> zd(-10, 10);
  const int y = Activation(Name("add") + ".out", av.shape, std::max(av.quant.scale[0], g_.value(b).quant.scale[0]) * 1.5, zd(rng_));
  ir::Node nd;
  nd.op = ir::OpKind::kAdd;
  nd.name = Name("add");
  nd.inputs = {a, b};
  nd.outputs = {y};
  nd.act_min = act_min;
  nd.act_max = act_max;
  g_.AddNode(std::move(nd));
  return y;
}

int GraphBuilder::AvgPool(int x, ir::Window2d w, int act_min, int act_max) {
  const ir::Value xv = g_.value(x);
  const int oh = ir::WindowOutSize(static_cast<int>(xv.shape[1]), w.kh, w.sh, 1, w.pad_t, w.pad_b);
  const int ow = ir::WindowOutSize(static_cast<int>(xv.shape[2]), w.kw, w.sw, 1, w.pad_l, w.pad_r);
  const int y = Activation(Name("pool") + ".out", {xv.shape[0], oh, ow}, xv.quant.scale[0], xv.quant.zero[0]);
  ir::Node nd;
  nd.op = ir::OpKind::kAvgPool2d;
  nd.name = Name("pool");
  nd.inputs = {x};
  nd.outputs = {y};
  nd.window = w;
  nd.act_min = act_min;
  nd.act_max = act_max;
  g_.AddNode(std::move(nd));
  return y;
}

int GraphBuilder::GlobalPool(int x) {
  const ir::Value xv = g_.value(x);
  ir::Window2d w;
  w.kh = w.sh = static_cast<int>(xv.shape[1]);
  w.kw = w.sw = static_cast<int>(xv.shape[2]);
  const int y = AvgPool(x, w);
  g_.nodes.back().global_pool = true;
  return y;
}

int GraphBuilder::Mean(int x) {
  const ir::Value xv = g_.value(x);
  const int y = Activation(Name("mean") + ".out", {xv.shape[0], 1, 1}, xv.quant.scale[0] * 0.7, xv.quant.zero[0] + 2);
  ir::Node nd;
  nd.op = ir::OpKind::kMean;
  nd.name = Name("mean");
  nd.inputs = {x};
  nd.outputs = {y};
  g_.AddNode(std::move(nd));
  return y;
}

int GraphBuilder::Pad(int x, std::array<int, 6> p) {
  const ir::Value xv = g_.value(x);
  const int y = Activation(Name("pad") + ".out", {xv.shape[0] + p[0] + p[1], xv.shape[1] + p[2] + p[3], xv.shape[2] + p[4] + p[5]},
                           xv.quant.scale[0], xv.quant.zero[0]);
  ir::Node nd;
  nd.op = ir::OpKind::kPad;
  nd.name = Name("pad");
  nd.inputs = {x};
  nd.outputs = {y};
  nd.pad_c[0] = p[0], nd.pad_c[1] = p[1], nd.pad_h[0] = p[2], nd.pad_h[1] = p[3], nd.pad_w[0] = p[4], nd.pad_w[1] = p[5];
  g_.AddNode(std::move(nd));
  return y;
}

int GraphBuilder::Reshape(int x, std::array<int64_t, 3> shape, bool hwc) {
  const ir::Value xv = g_.value(x);
  const int y = Activation(Name("reshape") + ".out", {shape[0], shape[1], shape[2]}, xv.quant.scale[0], xv.quant.zero[0]);
  ir::Node nd;
  nd.op = ir::OpKind::kReshape;
  nd.name = Name("reshape");
  nd.inputs = {x};
  nd.outputs = {y};
  nd.reshape_hwc = hwc;
  g_.AddNode(std::move(nd));
  return y;
}

ir::Graph GraphBuilder::Finish(int output) {
  g_.output = output;
  Status s = ir::Verify(g_);
  if (!s.ok()) {
    ADD_FAILURE() << "GraphBuilder made an invalid graph: " << s.ToString() << "\n" << ir::ToText(g_);
    return ir::Graph{};
  }
  return g_;
}

}  // namespace tte::testing
