// `tte info MODEL`: the layer table of a model (layer indices as sparse-update schemes use them), and
// totals; --json for machines; --graph prints the graph IR; --dump-graph DIR writes it for offline tools.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "compiler/layer_table.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "ir/serialize.h"

namespace tte::cli {
namespace {

// The layer column of the text table: imported TFLite names "op 12 CONV_2D (a/b/Relu;a/b/BiasAdd;...)" are
// cut to the op and the first of the fused tensor names, at most 40 characters ("--json" keeps them whole).
std::string ShortLayerName(const std::string& name) {
  const size_t open = name.find(" (");
  if (open == std::string::npos || name.size() <= 40) return name;
  std::string tensor = name.substr(open + 2);
  if (!tensor.empty() && tensor.back() == ')') tensor.pop_back();
  tensor = tensor.substr(0, tensor.find(';'));
  const size_t room = open + 3 < 40 ? 40 - open - 3 : 0;
  if (tensor.size() > room) tensor = (room > 3 ? "..." + tensor.substr(tensor.size() - (room - 3)) : "");
  return tensor.empty() ? name.substr(0, open) : name.substr(0, open) + " (" + tensor + ")";
}

struct InfoOptions {
  std::string model;
  int resolution = 0;
  bool json = false;
  bool graph = false;
  std::string dump_graph;
};

// graph.json + constants.npz (ir/serialize.h), all or nothing.
Status DumpGraph(const ir::Graph& g, const std::string& dir) {
  TTE_ASSIGN_OR_RETURN(StagedDirectory d, StagedDirectory::Create(dir));
  TTE_RETURN_IF_ERROR(WriteFileAtomic(d.Path("graph.json"), ir::GraphToJson(g).dump(1) + "\n"));
  TTE_RETURN_IF_ERROR(WriteNpz(d.Path("constants.npz"), ir::GraphConstants(g)));
  return d.Commit();
}

int RunInfo(const InfoOptions& o) {
  auto m = LoadModelOrExplain(o.model, o.resolution);
  if (!m.ok()) return Fail("info", m.status());
  const ir::Graph& g = m->graph;
  LayerTableSummary sum;
  auto rows = LayerTable(g, &sum);
  if (!rows.ok()) return Fail("info", rows.status());
  const ir::InputSpec& in = g.input_spec;
  const int R = in.h;
  const int num_classes = static_cast<int>(g.value(g.output).numel());
  if (!o.dump_graph.empty()) {
    Status st = DumpGraph(g, o.dump_graph);
    if (!st.ok()) return Fail("info", st);
  }
  if (o.graph) {
    std::printf("%s", ir::ToText(g).c_str());
    return 0;
  }
  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["resolution"] = R;
    j["input"] = {in.c, in.h, in.w};
    j["format"] = g.format;
    j["arithmetic"] = ir::RequantName(g.requant);
    j["num_classes"] = num_classes;
    j["convs"] = sum.convs;
    j["blocks"] = sum.blocks;
    j["residual_adds"] = sum.residuals;
    j["params"] = sum.params;
    j["macs"] = sum.macs;
    j["weight_bytes"] = sum.weight_bytes;
    j["bias_bytes"] = sum.bias_bytes;
    j["max_layer_in_out_bytes"] = sum.max_in_out_bytes;
    for (const LayerRow& r : *rows) {
      nlohmann::json l;
      l["conv_index"] = r.conv_index >= 0 ? nlohmann::json(r.conv_index) : nlohmann::json(nullptr);
      l["name"] = r.name;
      l["op"] = r.op;
      l["in"] = {r.in_c, r.in_h, r.in_w};
      l["out"] = {r.out_c, r.out_h, r.out_w};
      l["kernel"] = r.kernel;
      l["stride"] = r.stride;
      l["groups"] = r.groups;
      l["params"] = r.params;
      l["macs"] = r.macs;
      l["act_bytes"] = r.act_bytes;
      j["layers"].push_back(l);
    }
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  if (g.format == "pkl")
    std::printf("%s: %d convs in %d blocks (%d residual adds), input %dx%dx%d, %d classes\n\n", o.model.c_str(), sum.convs,
                sum.blocks, sum.residuals, in.c, in.h, in.w, num_classes);
  else
    std::printf("%s: %d trainable layers + classifier, %d adds, input %dx%dx%d (scale %g, zero point %d), %d outputs, %s "
                "arithmetic\n\n",
                o.model.c_str(), sum.convs, sum.residuals, in.c, in.h, in.w, in.scale, in.zero, num_classes,
                ir::RequantName(g.requant));
  int name_w = 22;
  for (const LayerRow& r : *rows) name_w = std::max<int>(name_w, static_cast<int>(ShortLayerName(r.name).size()));
  std::printf("%4s  %-*s %-11s %-13s %-13s %5s %3s %9s %11s %10s\n", "idx", name_w, "layer", "op", "in (CxHxW)", "out (CxHxW)", "k",
              "s", "params", "MACs", "act bytes");
  for (const LayerRow& r : *rows) {
    char in[48], out[48], idx[16];
    std::snprintf(in, sizeof in, "%dx%dx%d", r.in_c, r.in_h, r.in_w);
    std::snprintf(out, sizeof out, "%dx%dx%d", r.out_c, r.out_h, r.out_w);
    if (r.conv_index >= 0) std::snprintf(idx, sizeof idx, "%d", r.conv_index);
    else std::snprintf(idx, sizeof idx, "-");
    int name_w = 22;
  for (const LayerRow& r : *rows) name_w = std::max<int>(name_w, static_cast<int>(ShortLayerName(r.name).size()));
  std::printf("%4s  %-*s %-11s %-13s %-13s %5s %3s %9lld %11lld %10lld\n", idx, name_w, ShortLayerName(r.name).c_str(), r.op.c_str(), in, out,
                r.kernel.c_str(), r.stride.c_str(),
                static_cast<long long>(r.params), static_cast<long long>(r.macs), static_cast<long long>(r.act_bytes));
  }
  std::printf("\ntotal: %lld params (%s int8 weights + %s int32 biases), %.2f M MACs, largest layer input+output %s\n",
              static_cast<long long>(sum.params), HumanBytes(sum.weight_bytes).c_str(), HumanBytes(sum.bias_bytes).c_str(),
              sum.macs / 1e6, HumanBytes(sum.max_in_out_bytes).c_str());
  return 0;
}

}  // namespace

void AddInfoCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* c = app.add_subcommand("info", "Show a model's layers: conv indices (as sparse-update schemes use them), shapes, params, MACs");
  c->add_option("model", o->model, "Model file (.pkl MCUNetV3 format, or .tflite int8)")->required();
  c->add_option("--resolution", o->resolution, "Input resolution of a .pkl model (default: the model's own)");
  c->add_flag("--json", o->json, "Machine-readable JSON output");
  c->add_flag("--graph", o->graph, "Print the graph IR (every value with its shape and quantization, every node)");
  c->add_option("--dump-graph", o->dump_graph,
                "Write the graph to DIR as graph.json + constants.npz (tte's layout), for offline tools such as the "
                "PyTorch gradient oracle (tools/oracle)");
  c->callback([o, exit_code] { *exit_code = RunInfo(*o); });
}

}  // namespace tte::cli
