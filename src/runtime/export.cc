// Trained-model export (see export.h).
#include "runtime/export.h"

#include <cmath>
#include <cstring>

#include "compiler/layer_view.h"

namespace tte {
namespace {

int8_t RoundClampS8(float v) {
  float r = std::nearbyint(v);
  return static_cast<int8_t>(r < -128.f ? -128.f : r > 127.f ? 127.f : r);
}

int32_t RoundSatS32(float v) {
  double r = std::nearbyint(static_cast<double>(v));
  if (r >= 2147483647.0) return INT32_MAX;
  if (r <= -2147483648.0) return INT32_MIN;
  return static_cast<int32_t>(r);
}

}  // namespace

void HeadFromGraph(const ir::Graph& g, int num_classes, std::vector<float>* w, std::vector<float>* b,
                   bool from_int8_classifier) {
  w->clear();
  b->clear();
  auto view = MakeLayerView(g);
  if (!view.ok() || view->head_input < 0) return;
  const ir::FpHead& h = g.fp_head;
  const int64_t in = g.value(view->head_input).numel();
  if (h.in > 0) {
    if (h.out == num_classes && h.in == in) {
      *w = h.weight;
      *b = h.bias;
    }
    return;
  }
  if (!from_int8_classifier) return;
  // No fp32 head yet: the model's own int8 classifier, dequantized, when it predicts the same classes, so
  // that training continues from the model as it is (W = w_q * s_w[c], b = b_q * s_x * s_w[c]: the real
  // logits the int8 layer approximates).
  const ir::Node& n = g.nodes[static_cast<size_t>(view->head_node)];
  if (view->head_classes(g) != num_classes || n.inputs.size() < 2) return;
  const ir::Value& x = g.value(n.inputs[0]);
  const ir::Value& wq = g.value(n.inputs[1]);
  if (!wq.is_const() || wq.dtype != DType::kInt8 || wq.numel() != int64_t(num_classes) * in || x.quant.empty()) return;
  const bool per_channel = wq.quant.scale.size() == static_cast<size_t>(num_classes);
  if (!per_channel && wq.quant.scale.size() != 1) return;
  const ir::Value* bq = n.inputs.size() > 2 && n.inputs[2] >= 0 ? &g.value(n.inputs[2]) : nullptr;
  if (bq && (!bq->is_const() || bq->dtype != DType::kInt32 || bq->numel() != num_classes)) return;
  w->resize(static_cast<size_t>(num_classes * in));
  b->assign(static_cast<size_t>(num_classes), 0.0f);
  for (int c = 0; c < num_classes; ++c) {
    const double sw = wq.quant.scale[per_channel ? static_cast<size_t>(c) : 0];
    for (int64_t k = 0; k < in; ++k)
      (*w)[static_cast<size_t>(c * in + k)] = static_cast<float>(wq.as<int8_t>()[c * in + k] * sw);
    if (bq) (*b)[static_cast<size_t>(c)] = static_cast<float>(bq->as<int32_t>()[c] * x.quant.scale[0] * sw);
  }
}

Result<Model> ExportTrainedModel(const Model& base, const Program& P, const Executor& exec,
                                 const std::vector<std::string>& class_names, LogitRange range) {
  Model m = base;
  auto convs = m.MutableConvs();
  const bool master = P.train.store == TTE_STORE_MASTER;
  auto f32 = [&](int id) { return reinterpret_cast<const float*>(exec.Data(id)); };
  for (const ConvBinding& b : P.convs) {
    if (b.index < 0 || b.index >= static_cast<int>(convs.size())) continue;
    ConvLayer& c = *convs[b.index];
    if (b.train_bias) {
      if (master) {
        for (int o = 0; o < c.out_channels; ++o) c.bias[o] = RoundSatS32(f32(b.bias_f32)[o]);
      } else {
        std::memcpy(c.bias.data(), exec.Data(b.bias_i32), c.bias.size() * 4);
      }
    }
    if (b.train_weight) {
      const int kk = b.kk();
      std::vector<uint16_t> sel(b.n_train);
      std::memcpy(sel.data(), P.tensors[b.sel].init.data(), sel.size() * 2);
      const int8_t* wi = reinterpret_cast<const int8_t*>(exec.Data(b.w_train));
      const float* wm = master ? f32(b.w_master) : nullptr;
      const int rows = b.depthwise ? 1 : c.out_channels;
      for (int o = 0; o < rows; ++o)
        for (int j = 0; j < b.n_train; ++j)
          for (int e = 0; e < kk; ++e) {
            size_t src = (static_cast<size_t>(o) * b.n_train + j) * kk + e;
            size_t dst = b.depthwise ? static_cast<size_t>(sel[j]) * kk + e
                                     : (static_cast<size_t>(o) * b.in_per_group() + sel[j]) * kk + e;
            c.weight[dst] = master ? RoundClampS8(wm[src]) : wi[src];
          }
    }
  }
  // The head: exact fp32 copy, and its int8 quantization as the classifier.
  const HeadBinding& h = P.head;
  FpHead fp;
  fp.in = h.in;
  fp.out = h.out;
  fp.weight.assign(f32(h.W), f32(h.W) + static_cast<size_t>(h.in) * h.out);
  fp.bias.assign(f32(h.b), f32(h.b) + h.out);
  fp.class_names = class_names;
  for (float v : fp.weight)
    if (!std::isfinite(v)) return InvalidArgument("training diverged: the head has non-finite weights (try a lower --lr)");
  ConvLayer& cls = m.classifier;
  cls.out_channels = h.out;
  cls.in_channels = h.in;
  cls.kernel = 1;
  cls.stride = 1;
  cls.groups = 1;
  cls.weight.assign(static_cast<size_t>(h.out) * h.in, 0);
  cls.bias.assign(h.out, 0);
  cls.w_scales.assign(h.out, 1.0f);
  float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  if (hi - lo < 1e-3f) hi = lo + 1e-3f;
  cls.y_scale = static_cast<double>(hi - lo) / 255.0;
  cls.y_zero = static_cast<int>(std::lround(-128.0 - lo / cls.y_scale));
  cls.y_zero = std::max(-128, std::min(127, cls.y_zero));
  for (int n = 0; n < h.out; ++n) {
    float mx = 0;
    for (int c = 0; c < h.in; ++c) mx = std::max(mx, std::fabs(fp.weight[static_cast<size_t>(n) * h.in + c]));
    float ws = std::max(mx / 127.0f, 0.5e-6f / 127.0f);
    cls.w_scales[n] = ws;
    for (int c = 0; c < h.in; ++c) cls.weight[static_cast<size_t>(n) * h.in + c] = RoundClampS8(fp.weight[static_cast<size_t>(n) * h.in + c] / ws);
    cls.bias[n] = RoundSatS32(static_cast<float>(fp.bias[n] / (static_cast<double>(ws) * cls.x_scale)));
  }
  cls.ComputeEffectiveScales();
  m.fp_head = std::move(fp);
  return m;
}

}  // namespace tte
