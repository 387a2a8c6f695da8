// Trained models to TFLite (see export_tflite.h).
#include "runtime/export_tflite.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compiler/layer_view.h"
#include "import/tflite/from_graph.h"
#include "import/tflite/write_back.h"
#include "import/tflite/writer.h"

namespace tte {
namespace {

int8_t RoundClampS8(float v) {
  float r = std::nearbyint(v);
  return static_cast<int8_t>(r < -128.f ? -128.f : r > 127.f ? 127.f : r);
}

int32_t RoundSatS32(double v) {
  double r = std::nearbyint(v);
  if (r >= 2147483647.0) return INT32_MAX;
  if (r <= -2147483648.0) return INT32_MIN;
  return static_cast<int32_t>(r);
}

// The trained weights and bias of one conv / fully connected binding written into its graph constants.
Status WriteLayer(const ConvBinding& b, const Program& P, const Executor& exec, ir::Graph* g) {
  const ir::Node& n = g->nodes[static_cast<size_t>(b.node)];
  ir::Value& w = g->values[static_cast<size_t>(n.inputs[1])];
  ir::Value& bias = g->values[static_cast<size_t>(n.inputs[2])];
  const bool master = P.train.store == TTE_STORE_MASTER;
  auto f32 = [&](int id) { return reinterpret_cast<const float*>(exec.Data(id)); };
  if (b.train_bias) {
    if (bias.numel() != b.cout) return Internal(n.name + ": bias of " + std::to_string(bias.numel()) + " values for " + std::to_string(b.cout) + " channels");
    int32_t* dst = reinterpret_cast<int32_t*>(bias.data.data());
    if (master) {
      for (int o = 0; o < b.cout; ++o) dst[o] = RoundSatS32(static_cast<double>(f32(b.bias_f32)[o]));
    } else {
      std::memcpy(dst, exec.Data(b.bias_i32), static_cast<size_t>(b.cout) * 4);
    }
  }
  if (!b.train_weight) return Status::Ok();
  const int64_t ipg = w.shape[1], kk = w.shape[2] * w.shape[3];
  if (kk != b.kk()) return Internal(n.name + ": weight kernel of " + std::to_string(kk) + " taps, the program's " + std::to_string(b.kk()));
  std::vector<uint16_t> sel(static_cast<size_t>(b.n_train));
  std::memcpy(sel.data(), P.tensors[static_cast<size_t>(b.sel)].init.data(), sel.size() * 2);
  const int8_t* wi = reinterpret_cast<const int8_t*>(exec.Data(b.w_train));
  const float* wm = master ? f32(b.w_master) : nullptr;
  int8_t* dst = reinterpret_cast<int8_t*>(w.data.data());
  const int rows = b.depthwise ? 1 : b.cout;
  for (int o = 0; o < rows; ++o)
    for (int j = 0; j < b.n_train; ++j)
      for (int64_t e = 0; e < kk; ++e) {
        const size_t src = (static_cast<size_t>(o) * static_cast<size_t>(b.n_train) + static_cast<size_t>(j)) * static_cast<size_t>(kk) +
                           static_cast<size_t>(e);
        const size_t d = b.depthwise ? static_cast<size_t>(sel[static_cast<size_t>(j)] * kk + e)
                                     : static_cast<size_t>((o * ipg + sel[static_cast<size_t>(j)]) * kk + e);
        dst[d] = master ? RoundClampS8(wm[src]) : wi[src];
      }
  return Status::Ok();
}

}  // namespace

bool IsTflitePath(const std::string& path) {
  const std::string ext = ".tflite";
  return path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

Result<ir::Graph> TrainedGraph(const ir::Graph& base, const Program& P, const Executor& exec,
                               const std::vector<std::string>& class_names, LogitRange range) {
  ir::Graph g = base;
  TTE_ASSIGN_OR_RETURN(LayerView view, MakeLayerView(g));
  if (view.head_node < 0) return Unsupported(g.source + ": the model has no classifier to export the trained head into");
  for (const ConvBinding& b : P.convs) {
    if (b.node < 0 || b.node == view.head_node || static_cast<size_t>(b.node) >= g.nodes.size()) continue;
    TTE_RETURN_IF_ERROR(WriteLayer(b, P, exec, &g));
  }
  // The head: quantized into the classifier node.
  const HeadBinding& h = P.head;
  const float* W = reinterpret_cast<const float*>(exec.Data(h.W));
  const float* B = reinterpret_cast<const float*>(exec.Data(h.b));
  const size_t nw = static_cast<size_t>(h.in) * static_cast<size_t>(h.out);
  for (size_t i = 0; i < nw; ++i)
    if (!std::isfinite(W[i])) return InvalidArgument("training diverged: the head has non-finite weights (try a lower --lr)");
  ir::Node& cls = g.nodes[static_cast<size_t>(view.head_node)];
  cls.act_min = -128, cls.act_max = 127;
  ir::Value& wv = g.values[static_cast<size_t>(cls.inputs[1])];
  ir::Value& bv = g.values[static_cast<size_t>(cls.inputs[2])];
  const ir::Value& xv = g.value(view.head_input);
  if (xv.numel() != h.in) return Internal("the head reads " + std::to_string(h.in) + " features, the classifier " + std::to_string(xv.numel()));
  const bool per_channel = wv.quant.scale.size() > 1;
  const double x_scale = xv.quant.scale[0];
  std::vector<float> ws(static_cast<size_t>(h.out));
  float all = 0;
  for (int n = 0; n < h.out; ++n) {
    float mx = 0;
    for (int c = 0; c < h.in; ++c) mx = std::max(mx, std::fabs(W[static_cast<size_t>(n) * h.in + c]));
    ws[static_cast<size_t>(n)] = std::max(mx / 127.0f, 0.5e-6f / 127.0f);
    all = std::max(all, ws[static_cast<size_t>(n)]);
  }
  if (!per_channel) std::fill(ws.begin(), ws.end(), all);
  wv.shape[0] = h.out;
  wv.data.assign(nw, 0);
  wv.quant.scale.clear();
  for (int n = 0; n < (per_channel ? h.out : 1); ++n) wv.quant.scale.push_back(static_cast<double>(ws[static_cast<size_t>(n)]));
  wv.quant.zero.assign(wv.quant.scale.size(), 0);
  bv.shape = {h.out};
  bv.data.assign(static_cast<size_t>(h.out) * 4, 0);
  int32_t* bias = reinterpret_cast<int32_t*>(bv.data.data());
  for (int n = 0; n < h.out; ++n) {
    const float s = ws[static_cast<size_t>(n)];
    for (int c = 0; c < h.in; ++c)
      wv.data[static_cast<size_t>(n) * h.in + c] = static_cast<uint8_t>(RoundClampS8(W[static_cast<size_t>(n) * h.in + c] / s));
    bias[n] = RoundSatS32(static_cast<double>(B[n]) / (static_cast<double>(s) * x_scale));
  }
  // Output quantization from the observed logit range (as ExportTrainedModel).
  float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  if (hi - lo < 1e-3f) hi = lo + 1e-3f;
  const double y_scale = static_cast<double>(static_cast<float>(static_cast<double>(hi - lo) / 255.0));
  const int y_zero = std::max(-128, std::min(127, static_cast<int>(std::lround(-128.0 - lo / y_scale))));
  // The classifier's output and every value after it (reshapes, softmax) take the new class count.
  bool after = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (static_cast<int>(i) == view.head_node) after = true;
    if (!after) continue;
    ir::Value& y = g.values[static_cast<size_t>(g.nodes[i].outputs[0])];
    y.shape = {h.out, 1, 1};
    if (static_cast<int>(i) == view.head_node) y.quant = ir::Quant{{y_scale}, {y_zero}, 0};
    else if (g.nodes[i].op == ir::OpKind::kReshape) y.quant = g.value(g.nodes[i].inputs[0]).quant;
  }
  g.fp_head = ir::FpHead{h.in, h.out, std::vector<float>(W, W + nw), std::vector<float>(B, B + h.out)};
  g.class_names = class_names;
  TTE_RETURN_IF_ERROR(ir::Verify(g));
  return g;
}

Result<TfliteExport> ExportTflite(const ir::Graph& g, const std::string& out) {
  TfliteExport r;
  if (g.format == "tflite") {
    TTE_ASSIGN_OR_RETURN(tflite::ModelFile m, tflite::ReadModelFile(g.source));
    TTE_ASSIGN_OR_RETURN(tflite::WriteBackResult wb, tflite::WriteBack(m, g));
    r.bytes = std::move(wb.bytes);
    r.summary = std::to_string(wb.changed_buffers.size()) + " of " + std::to_string(m.buffers.size()) + " buffers of " + g.source +
                " rewritten, " + std::to_string(wb.new_buffers) + " added, every other buffer byte-identical" +
                (wb.in_place ? " (in place: every other byte of the file identical)" : "");
    return r;
  }
  TTE_ASSIGN_OR_RETURN(tflite::ModelFile m, tflite::ModelFileFromGraph(g, out));
  TTE_ASSIGN_OR_RETURN(r.bytes, tflite::WriteModelFile(m));
  r.summary = "a new TFLite model from " + g.source + " (" + std::to_string(m.subgraphs[0].operators.size()) +
              " ops; TFLite's integer requantization: docs/export.md)";
  return r;
}

}  // namespace tte
