// ir::Graph basics: op table, value/node bookkeeping and the stable text dump (see graph.h).
#include "ir/graph.h"

#include <cstdio>

namespace tte::ir {
namespace {

struct OpInfo {
  const char* name;
  int n_data, n_const;
};

constexpr OpInfo kOps[] = {
#define TTE_IR_INFO(e, name, n_data, n_const) {name, n_data, n_const},
    TTE_IR_OPS(TTE_IR_INFO)
#undef TTE_IR_INFO
};

std::string Doubles(const std::vector<double>& v, size_t max_items = 4) {
  std::string s = "[";
  for (size_t i = 0; i < v.size() && i < max_items; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", v[i]);
    s += buf;
  }
  if (v.size() > max_items) s += ",... (" + std::to_string(v.size()) + ")";
  return s + "]";
}

std::string Ints(const std::vector<int32_t>& v, size_t max_items = 4) {
  std::string s = "[";
  for (size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? "," : "") + std::to_string(v[i]);
  if (v.size() > max_items) s += ",... (" + std::to_string(v.size()) + ")";
  return s + "]";
}

}  // namespace

const char* RequantName(Requant r) { return r == Requant::kTfliteInteger ? "tflite-integer" : "reference-fp32"; }

const char* OpName(OpKind k) { return kOps[static_cast<int>(k)].name; }
int DataInputs(OpKind k) { return kOps[static_cast<int>(k)].n_data; }
int ConstInputs(OpKind k) { return kOps[static_cast<int>(k)].n_const; }

int64_t Value::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int Graph::AddValue(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::AddNode(Node n) {
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

std::vector<int> Graph::Producers() const {
  std::vector<int> p(values.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int o : nodes[i].outputs)
      if (o >= 0 && o < static_cast<int>(values.size())) p[static_cast<size_t>(o)] = static_cast<int>(i);
  return p;
}

std::vector<std::vector<int>> Graph::Consumers() const {
  std::vector<std::vector<int>> c(values.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int in : nodes[i].inputs)
      if (in >= 0 && in < static_cast<int>(values.size())) c[static_cast<size_t>(in)].push_back(static_cast<int>(i));
  return c;
}

int WindowOutSize(int in, int k, int stride, int dilation, int pad_before, int pad_after) {
  if (stride < 1 || dilation < 1 || k < 1) return 0;
  const int64_t span = static_cast<int64_t>(dilation) * (k - 1) + 1;
  const int64_t avail = static_cast<int64_t>(in) + pad_before + pad_after - span;
  if (avail < 0) return 0;
  return static_cast<int>(avail / stride + 1);
}

std::string ToText(const Graph& g) {
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof buf, "graph %s (%s, requant %s): %zu values, %zu nodes, input v%d, output v%d\n",
                g.source.c_str(), g.format.c_str(), RequantName(g.requant), g.values.size(), g.nodes.size(), g.input,
                g.output);
  s += buf;
  const InputSpec& in = g.input_spec;
  std::snprintf(buf, sizeof buf, "input %dx%dx%d scale %.9g zero %d pixels %s%s\n", in.c, in.h, in.w, in.scale, in.zero,
                in.pixels == PixelRule::kMinus128 ? "p-128" : "scale-zero", in.source_nhwc ? " (source NHWC)" : "");
  s += buf;
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    s += "v" + std::to_string(i) + " " + DTypeName(v.dtype) + ShapeString(v.shape);
    if (!v.quant.empty()) s += " scale" + Doubles(v.quant.scale) + " zero" + Ints(v.quant.zero);
    if (v.is_const()) s += " const";
    s += " '" + v.name + "'\n";
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    s += "n" + std::to_string(i) + " " + OpName(n.op) + " (";
    for (size_t j = 0; j < n.inputs.size(); ++j) s += (j ? ", v" : "v") + std::to_string(n.inputs[j]);
    s += ") -> (";
    for (size_t j = 0; j < n.outputs.size(); ++j) s += (j ? ", v" : "v") + std::to_string(n.outputs[j]);
    s += ")";
    const Window2d& w = n.window;
    switch (n.op) {
      case OpKind::kConv2d:
      case OpKind::kDepthwiseConv2d:
      case OpKind::kAvgPool2d:
        std::snprintf(buf, sizeof buf, " k%dx%d s%dx%d d%dx%d pad t%d b%d l%d r%d", w.kh, w.kw, w.sh, w.sw, w.dh, w.dw,
                      w.pad_t, w.pad_b, w.pad_l, w.pad_r);
        s += buf;
        if (n.op == OpKind::kConv2d && n.groups != 1) s += " groups " + std::to_string(n.groups);
        if (n.op == OpKind::kDepthwiseConv2d) s += " multiplier " + std::to_string(n.depth_multiplier);
        if (n.global_pool) s += " global";
        break;
      case OpKind::kPad:
        std::snprintf(buf, sizeof buf, " c%d,%d h%d,%d w%d,%d", n.pad_c[0], n.pad_c[1], n.pad_h[0], n.pad_h[1],
                      n.pad_w[0], n.pad_w[1]);
        s += buf;
        break;
      case OpKind::kReshape:
        if (n.reshape_hwc) s += " hwc-order";
        break;
      default:
        break;
    }
    if (n.act_min != -128 || n.act_max != 127) s += " act[" + std::to_string(n.act_min) + "," + std::to_string(n.act_max) + "]";
    s += " '" + n.name + "'\n";
  }
  return s;
}

}  // namespace tte::ir
