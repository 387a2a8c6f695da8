// Layer table (see layer_table.h).
#include "compiler/layer_table.h"

#include <algorithm>
#include <set>

namespace tte {
namespace {

std::string Pair(int a, int b) { return a == b ? std::to_string(a) : std::to_string(a) + "x" + std::to_string(b); }

}  // namespace

Result<std::vector<LayerRow>> LayerTable(const ir::Graph& g, LayerTableSummary* sum) {
  TTE_ASSIGN_OR_RETURN(LayerView v, MakeLayerView(g));
  std::vector<LayerRow> rows;
  LayerTableSummary s;
  std::set<std::string> blocks;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    const ir::Value& x = g.value(n.inputs[0]);
    const ir::Value& y = g.value(n.outputs[0]);
    LayerRow r;
    r.conv_index = v.layer_of_node[i];
    r.name = n.name;
    r.in_c = static_cast<int>(x.shape[0]), r.in_h = static_cast<int>(x.shape[1]), r.in_w = static_cast<int>(x.shape[2]);
    r.out_c = static_cast<int>(y.shape[0]), r.out_h = static_cast<int>(y.shape[1]), r.out_w = static_cast<int>(y.shape[2]);
    r.act_bytes = y.numel();
    if (g.format == "pkl" && n.name.rfind("blocks.", 0) == 0) blocks.insert(n.name.substr(0, n.name.find('.', 7)));
    const ir::Window2d& w = n.window;
    switch (n.op) {
      case ir::OpKind::kConv2d:
      case ir::OpKind::kDepthwiseConv2d:
      case ir::OpKind::kFullyConnected: {
        const ir::Value& wt = g.value(n.inputs[1]);
        const bool fc = n.op == ir::OpKind::kFullyConnected;
        const int kh = static_cast<int>(wt.shape[2]), kw = static_cast<int>(wt.shape[3]);
        r.groups = fc ? 1 : n.groups;
        if (!fc) {
          r.kernel = Pair(kh, kw);
          r.stride = Pair(w.sh, w.sw);
        }
        const std::string k = std::to_string(kh) + "x" + std::to_string(kw);
        if (static_cast<int>(i) == v.head_node) r.op = "classifier";
        else if (fc) r.op = "fc";
        else if (n.op == ir::OpKind::kDepthwiseConv2d) r.op = "dw" + k;
        else if (kh == 1 && kw == 1 && n.groups == 1) r.op = "pw";
        else r.op = "conv" + k;
        if (!fc && r.op != "classifier" && (w.sh > 1 || w.sw > 1)) r.op += "/s" + Pair(w.sh, w.sw);
        if (!fc && (w.dh > 1 || w.dw > 1)) r.op += "/d" + Pair(w.dh, w.dw);
        r.params = wt.numel() + g.value(n.inputs[2]).numel();
        r.macs = y.numel() * wt.numel() / wt.shape[0];
        s.weight_bytes += wt.numel();
        s.bias_bytes += 4 * g.value(n.inputs[2]).numel();
        break;
      }
      case ir::OpKind::kAdd:
        r.op = "add";
        ++s.residuals;
        break;
      case ir::OpKind::kAvgPool2d:
        r.op = "avgpool";
        if (!n.global_pool) {
          r.kernel = Pair(w.kh, w.kw);
          r.stride = Pair(w.sh, w.sw);
        }
        break;
      default:
        r.op = ir::OpName(n.op);
        break;
    }
    s.params += r.params;
    s.macs += r.macs;
    s.max_in_out_bytes = std::max(s.max_in_out_bytes, x.numel() + r.act_bytes);
    rows.push_back(r);
  }
  s.convs = static_cast<int>(v.layers.size());
  s.blocks = static_cast<int>(blocks.size());
  if (sum) *sum = s;
  return rows;
}

}  // namespace tte
