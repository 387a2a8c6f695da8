// Layer numbering and stage names derived from a graph (see layer_view.h).
#include "compiler/layer_view.h"

#include <cstdio>
#include <cstdlib>

namespace tte {
namespace {

bool IsLayerOp(ir::OpKind k) {
  return k == ir::OpKind::kConv2d || k == ir::OpKind::kDepthwiseConv2d || k == ir::OpKind::kFullyConnected;
}

// "blocks.3.pointwise1" -> "b3.pw1"; other .pkl paths unchanged; other graphs: op kind + layer index.
std::string ShortName(const ir::Graph& g, const ir::Node& n, int index) {
  if (g.format == "pkl") {
    const std::string& p = n.name;
    if (p.rfind("blocks.", 0) != 0) return p;
    const size_t dot = p.find('.', 7);
    const std::string kind = p.substr(dot + 1);
    const char* abbr = kind == "pointwise1" ? "pw1" : kind == "pointwise2" ? "pw2" : kind == "depthwise" ? "dw" : kind.c_str();
    return "b" + p.substr(7, dot - 7) + "." + abbr;
  }
  const char* kind = n.op == ir::OpKind::kFullyConnected ? "fc" : n.op == ir::OpKind::kDepthwiseConv2d ? "dw" : "conv";
  return index >= 0 ? kind + std::to_string(index) : std::string("classifier");
}

// The block number of a .pkl node name "blocks.N.xxx", or -1.
int BlockOf(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return -1;
  return std::atoi(name.c_str() + 7);
}

}  // namespace

int LayerView::head_classes(const ir::Graph& g) const {
  if (head_node < 0) return 0;
  return static_cast<int>(g.value(g.nodes[static_cast<size_t>(head_node)].outputs[0]).shape[0]);
}

Result<LayerView> MakeLayerView(const ir::Graph& g) {
  LayerView v;
  const std::vector<int> producer = g.Producers();
  // Walk back from the output through reshapes and a softmax to the classifier.
  int node = g.output >= 0 ? producer[static_cast<size_t>(g.output)] : -1;
  while (node >= 0) {
    const ir::Node& n = g.nodes[static_cast<size_t>(node)];
    if (n.op == ir::OpKind::kSoftmax && v.softmax_node < 0 && v.head_node < 0) {
      v.softmax_node = node;
    } else if (n.op != ir::OpKind::kReshape) {
      break;
    }
    node = producer[static_cast<size_t>(n.inputs[0])];
  }
  if (node >= 0) {
    const ir::Node& n = g.nodes[static_cast<size_t>(node)];
    const std::vector<int64_t>& ys = g.value(n.outputs[0]).shape;
    const ir::Window2d& w = n.window;
    const std::vector<int64_t>& xs = g.value(n.inputs[0]).shape;
    const bool whole_input_conv = n.op == ir::OpKind::kConv2d && n.groups == 1 && w.kh == xs[1] && w.kw == xs[2] &&
                                  !w.pad_t && !w.pad_b && !w.pad_l && !w.pad_r;
    if ((n.op == ir::OpKind::kFullyConnected || whole_input_conv) && ys[1] == 1 && ys[2] == 1) {
      v.head_node = node;
      v.head_input = n.inputs[0];
    }
  }
  if (v.head_node < 0) v.softmax_node = -1;
  v.layer_of_node.assign(g.nodes.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!IsLayerOp(n.op) || static_cast<int>(i) == v.head_node) continue;
    Layer l;
    l.node = static_cast<int>(i);
    l.name = n.name;
    l.op = n.op;
    l.short_name = ShortName(g, n, static_cast<int>(v.layers.size()));
    const ir::Value& w = g.value(n.inputs[1]);
    l.cin = static_cast<int>(g.value(n.inputs[0]).shape[0]);
    l.cout = static_cast<int>(w.shape[0]);
    l.fully_connected = n.op == ir::OpKind::kFullyConnected;
    l.depthwise = n.op == ir::OpKind::kDepthwiseConv2d;
    l.groups = l.fully_connected ? 1 : n.groups;
    l.kh = static_cast<int>(w.shape[2]);
    l.kw = static_cast<int>(w.shape[3]);
    l.weight = n.inputs[1];
    l.bias = n.inputs[2];
    l.input = n.inputs[0];
    l.output = n.outputs[0];
    v.layer_of_node[i] = static_cast<int>(v.layers.size());
    v.layers.push_back(std::move(l));
  }
  return v;
}

std::string NodeShortName(const ir::Graph& g, const LayerView& v, int node) {
  const ir::Node& n = g.nodes[static_cast<size_t>(node)];
  if (v.layer_of_node[static_cast<size_t>(node)] >= 0) return v.layers[static_cast<size_t>(v.layer_of_node[static_cast<size_t>(node)])].short_name;
  if (node == v.head_node) return "classifier";
  if (g.format == "pkl") {
    const int b = BlockOf(n.name);
    if (b >= 0 && n.op == ir::OpKind::kAdd) return "b" + std::to_string(b) + ".add";
    return n.name;
  }
  return std::string(ir::OpName(n.op)) + std::to_string(node);
}

std::vector<std::vector<std::string>> StageNames(const ir::Graph& g) {
  std::vector<std::vector<std::string>> names(g.nodes.size());
  char buf[64];
  if (g.format != "pkl") {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      std::snprintf(buf, sizeof buf, "%02d_%s", n.source_op >= 0 ? n.source_op : static_cast<int>(i), ir::OpName(n.op));
      names[i].push_back(buf);
    }
    return names;
  }
  bool feature_mix = false;
  for (const ir::Node& n : g.nodes) feature_mix |= n.name == "feature_mix";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const std::string& name = g.nodes[i].name;
    const int b = BlockOf(name);
    if (b >= 0) {
      const bool last_of_block = i + 1 == g.nodes.size() || BlockOf(g.nodes[i + 1].name) != b;
      if (last_of_block) {
        std::snprintf(buf, sizeof buf, "block_%02d", b);
        names[i].push_back(buf);
        if (!feature_mix && i + 1 < g.nodes.size() && g.nodes[i + 1].name == "avgpool") names[i].push_back("feature_mix");
      }
    } else {
      names[i].push_back(name == "classifier" ? "fc" : name);
    }
  }
  return names;
}

}  // namespace tte
