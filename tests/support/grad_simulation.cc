// Independent gradient simulation of ir::Graphs (see grad_simulation.h). Nothing here calls tte's
// kernels: the forward formulas are the graph's requant arithmetic written out, the backward plain
// double loops.
#include "support/grad_simulation.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "runtime/gradients.h"
#include "support/tflite_reference_math.h"

namespace tte::testing {
namespace {

// TFLite's integer arithmetic: support/tflite_reference_math.h
using namespace ::tte::testing::tflite_math;

// ------------------------------------------------------------------ helpers
struct Geometry {  // a conv's or pool's window over a [C, H, W] input
  int64_t C, H, W, O, OH, OW, I, KH, KW;
  ir::Window2d w;
};

int64_t InChannel(const ir::Node& n, const Geometry& q, int64_t o, int64_t i) {
  if (n.op == ir::OpKind::kDepthwiseConv2d) return o / (q.O / q.C);
  return (o / (q.O / n.groups)) * q.I + i;
}

Geometry ConvGeometry(const ir::Graph& g, const ir::Node& n) {
  const ir::Value &x = g.value(n.inputs[0]), &wv = g.value(n.inputs[1]), &y = g.value(n.outputs[0]);
  Geometry q{x.shape[0], x.shape[1],  x.shape[2],  y.shape[0],  y.shape[1],
             y.shape[2], wv.shape[1], wv.shape[2], wv.shape[3], n.window};
  if (n.op == ir::OpKind::kFullyConnected) q.w = ir::Window2d{};  // the kernel is the whole input
  if (n.op == ir::OpKind::kFullyConnected)
    q.w.kh = static_cast<int>(q.H), q.w.kw = static_cast<int>(q.W);
  return q;
}

// Visits every in-image tap (input index, weight index) of output (o, oy, ox).
template <typename F>
void Taps(const ir::Node& n, const Geometry& q, int64_t o, int64_t oy, int64_t ox, F f) {
  for (int64_t i = 0; i < q.I; ++i)
    for (int64_t ky = 0; ky < q.KH; ++ky)
      for (int64_t kx = 0; kx < q.KW; ++kx) {
        const int64_t iy = oy * q.w.sh - q.w.pad_t + ky * q.w.dh,
                      ix = ox * q.w.sw - q.w.pad_l + kx * q.w.dw;
        if (iy < 0 || iy >= q.H || ix < 0 || ix >= q.W) continue;
        f((InChannel(n, q, o, i) * q.H + iy) * q.W + ix, ((o * q.I + i) * q.KH + ky) * q.KW + kx);
      }
}

double WeightScale(const ir::Value& w, int64_t o) {
  return w.quant.scale[w.quant.scale.size() == 1 ? 0 : static_cast<size_t>(o)];
}

// The straight-through scale of a conv: float32(s_x s_w / s_y) computed in double.
double Eff(const ir::Graph& g, const ir::Node& n, int64_t o) {
  return static_cast<float>(g.value(n.inputs[0]).quant.scale[0] *
                            WeightScale(g.value(n.inputs[1]), o) /
                            g.value(n.outputs[0]).quant.scale[0]);
}

// Source index (CHW flat) of every output element of a reshape.
std::vector<int64_t> ReshapeSource(const ir::Graph& g, const ir::Node& n) {
  const std::vector<int64_t>& a = g.value(n.inputs[0]).shape;
  const std::vector<int64_t>& b = g.value(n.outputs[0]).shape;
  std::vector<int64_t> src(static_cast<size_t>(a[0] * a[1] * a[2]));
  for (size_t k = 0; k < src.size(); ++k) src[k] = static_cast<int64_t>(k);
  if (!n.reshape_hwc) return src;
  // Element at NHWC position p of the input goes to NHWC position p of the output.
  std::vector<int64_t> nhwc_src(src.size());
  for (int64_t c = 0; c < a[0]; ++c)
    for (int64_t h = 0; h < a[1]; ++h)
      for (int64_t w = 0; w < a[2]; ++w)
        nhwc_src[static_cast<size_t>((h * a[2] + w) * a[0] + c)] = (c * a[1] + h) * a[2] + w;
  for (int64_t c = 0; c < b[0]; ++c)
    for (int64_t h = 0; h < b[1]; ++h)
      for (int64_t w = 0; w < b[2]; ++w)
        src[static_cast<size_t>((c * b[1] + h) * b[2] + w)] =
            nhwc_src[static_cast<size_t>((h * b[2] + w) * b[0] + c)];
  return src;
}

class Simulator {
 public:
  Simulator(const ir::Graph& g, GradSimulation* s) : g_(g), s_(*s) {}
  void Forward(const ir::Node& n);
  void Backward(const ir::Node& n, std::vector<std::vector<double>>* grad, int layer);

 private:
  // Clamps v to the node's range and records the mask bit.
  int8_t Clamp(const ir::Node& n, int64_t v, std::vector<uint8_t>* inside) {
    const bool in = v >= n.act_min && v <= n.act_max;
    inside->push_back(in ? 1 : 0);
    return static_cast<int8_t>(std::clamp<int64_t>(v, n.act_min, n.act_max));
  }
  const std::vector<int8_t>& X(const ir::Node& n, int k = 0) {
    return s_.act[static_cast<size_t>(n.inputs[static_cast<size_t>(k)])];
  }

  const ir::Graph& g_;
  GradSimulation& s_;
};

void Simulator::Forward(const ir::Node& n) {
  const bool tfl = g_.requant == ir::Requant::kTfliteInteger;
  const ir::Value& yv = g_.value(n.outputs[0]);
  const int32_t zy = yv.quant.zero[0];
  std::vector<int8_t> y;
  std::vector<uint8_t> inside;
  switch (n.op) {
    case ir::OpKind::kConv2d:
    case ir::OpKind::kDepthwiseConv2d:
    case ir::OpKind::kFullyConnected: {
      const ir::Value &xv = g_.value(n.inputs[0]), &wv = g_.value(n.inputs[1]);
      const Geometry q = ConvGeometry(g_, n);
      const std::vector<int8_t>& x = X(n);
      const int32_t zx = xv.quant.zero[0];
      for (int64_t o = 0; o < q.O; ++o) {
        int32_t m = 0;
        int shift = 0;
        if (tfl) {
          double real = xv.quant.scale[0] * WeightScale(wv, o) / yv.quant.scale[0];
          if (n.op == ir::OpKind::kFullyConnected &&
              wv.quant.scale.size() == 1)  // TFLite: float32 product first
            real = static_cast<double>(static_cast<float>(xv.quant.scale[0]) *
                                       static_cast<float>(wv.quant.scale[0])) /
                   yv.quant.scale[0];
          QuantizeMultiplier(real, &m, &shift);
        }
        const float eff = static_cast<float>(Eff(g_, n, o));
        const int32_t bias = g_.value(n.inputs[2]).as<int32_t>()[o];
        for (int64_t oy = 0; oy < q.OH; ++oy)
          for (int64_t ox = 0; ox < q.OW; ++ox) {
            int32_t acc = 0;
            Taps(n, q, o, oy, ox, [&](int64_t xi, int64_t wi) {
              acc += (x[static_cast<size_t>(xi)] - zx) * wv.as<int8_t>()[wi];
            });
            int64_t v;
            if (tfl) {
              v = static_cast<int64_t>(Mbqm(bias + acc, m, shift)) + zy;
            } else {  // the reference's fp32 simulation: t = float(acc) + float(bias), rint(t *
                      // eff)
              const float t = static_cast<float>(acc) + static_cast<float>(bias);
              v = static_cast<int64_t>(std::nearbyint(t * eff)) + zy;
            }
            y.push_back(Clamp(n, v, &inside));
          }
      }
      break;
    }
    case ir::OpKind::kAdd: {
      const ir::Quant &qa = g_.value(n.inputs[0]).quant, &qb = g_.value(n.inputs[1]).quant,
                      &qy = yv.quant;
      const std::vector<int8_t>&a = X(n, 0), &b = X(n, 1);
      const double twice_max = 2 * std::max(qa.scale[0], qb.scale[0]);
      int32_t ma, mb, my;
      int sa, sb, sy;
      QuantizeMultiplier(qa.scale[0] / twice_max, &ma, &sa);
      QuantizeMultiplier(qb.scale[0] / twice_max, &mb, &sb);
      QuantizeMultiplier(twice_max / ((1 << 20) * qy.scale[0]), &my, &sy);
      const float s1 = static_cast<float>(qa.scale[0]), s2 = static_cast<float>(qb.scale[0]),
                  s = static_cast<float>(qy.scale[0]);
      for (size_t i = 0; i < a.size(); ++i) {
        int64_t v;
        if (tfl) {
          const int32_t xa = Mbqm((a[i] - qa.zero[0]) * (1 << 20), ma, sa);
          const int32_t xb = Mbqm((b[i] - qb.zero[0]) * (1 << 20), mb, sb);
          v = static_cast<int64_t>(Mbqm(xa + xb, my, sy)) + zy;
        } else {
          const float fa = static_cast<float>(a[i] - qa.zero[0]) * s1,
                      fb = static_cast<float>(b[i] - qb.zero[0]) * s2;
          v = static_cast<int64_t>(std::nearbyint((fa + fb) / s)) + zy;
        }
        y.push_back(Clamp(n, v, &inside));
      }
      break;
    }
    case ir::OpKind::kAvgPool2d: {
      const std::vector<int64_t>& xs = g_.value(n.inputs[0]).shape;
      const std::vector<int8_t>& x = X(n);
      const ir::Window2d& w = n.window;
      for (int64_t c = 0; c < yv.shape[0]; ++c)
        for (int64_t oy = 0; oy < yv.shape[1]; ++oy)
          for (int64_t ox = 0; ox < yv.shape[2]; ++ox) {
            int32_t sum = 0, count = 0;
            for (int64_t ky = 0; ky < w.kh; ++ky)
              for (int64_t kx = 0; kx < w.kw; ++kx) {
                const int64_t iy = oy * w.sh - w.pad_t + ky, ix = ox * w.sw - w.pad_l + kx;
                if (iy < 0 || iy >= xs[1] || ix < 0 || ix >= xs[2]) continue;
                sum += x[static_cast<size_t>((c * xs[1] + iy) * xs[2] + ix)];
                ++count;
              }
            int64_t v;
            if (tfl)  // integer division rounding half away from zero
              v = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
            else
              v = static_cast<int64_t>(
                  std::nearbyint(static_cast<float>(sum) / static_cast<float>(count)));
            y.push_back(Clamp(n, v, &inside));
          }
      break;
    }
    case ir::OpKind::kMean: {  // TFLite Micro's EvalIntegerMean (either mode: the op only exists in
                               // TFLite)
      const ir::Value& xv = g_.value(n.inputs[0]);
      const std::vector<int8_t>& x = X(n);
      const int32_t cnt = static_cast<int32_t>(xv.shape[1] * xv.shape[2]);
      const bool same =
          static_cast<float>(xv.quant.scale[0]) == static_cast<float>(yv.quant.scale[0]) &&
          xv.quant.zero[0] == zy;
      int32_t m;
      int shift;
      QuantizeMultiplier(static_cast<double>(static_cast<float>(xv.quant.scale[0])) /
                             static_cast<float>(yv.quant.scale[0]),
                         &m, &shift);
      int k = 0;  // floor(log2 n), limited as reduce.h limits it
      while ((int64_t{2} << k) <= cnt) ++k;
      k = std::max(0, std::min({k, 32, 31 + shift}));
      const int32_t mult = static_cast<int32_t>((static_cast<int64_t>(m) << k) / cnt);
      for (int64_t c = 0; c < xv.shape[0]; ++c) {
        int32_t sum = 0;
        for (int32_t i = 0; i < cnt; ++i) sum += x[static_cast<size_t>(c * cnt + i)];
        const int64_t v =
            same ? sum / cnt
                 : static_cast<int64_t>(Mbqm(sum - xv.quant.zero[0] * cnt, mult, shift - k)) + zy;
        y.push_back(Clamp(n, v, &inside));
      }
      break;
    }
    case ir::OpKind::kPad: {
      const std::vector<int64_t>& xs = g_.value(n.inputs[0]).shape;
      y.assign(static_cast<size_t>(yv.numel()), static_cast<int8_t>(zy));
      for (int64_t c = 0; c < xs[0]; ++c)
        for (int64_t h = 0; h < xs[1]; ++h)
          for (int64_t w = 0; w < xs[2]; ++w)
            y[static_cast<size_t>(((c + n.pad_c[0]) * yv.shape[1] + h + n.pad_h[0]) * yv.shape[2] +
                                  w + n.pad_w[0])] =
                X(n)[static_cast<size_t>((c * xs[1] + h) * xs[2] + w)];
      break;
    }
    case ir::OpKind::kReshape:
      for (int64_t src : ReshapeSource(g_, n)) y.push_back(X(n)[static_cast<size_t>(src)]);
      break;
    case ir::OpKind::kSoftmax:
      return;  // after the classifier: training never computes it
  }
  for (uint8_t b : inside) s_.clamped += b == 0;
  s_.act[static_cast<size_t>(n.outputs[0])] = std::move(y);
  s_.inside[static_cast<size_t>(n.outputs[0])] = std::move(inside);
}

void Simulator::Backward(const ir::Node& n, std::vector<std::vector<double>>* grad, int layer) {
  std::vector<double>& gy = (*grad)[static_cast<size_t>(n.outputs[0])];
  if (gy.empty()) return;  // nothing downstream reaches the loss
  const std::vector<uint8_t>& inside = s_.inside[static_cast<size_t>(n.outputs[0])];
  std::vector<double> ga = gy;
  for (size_t i = 0; i < inside.size(); ++i) ga[i] = inside[i] ? ga[i] : 0.0;
  auto dx = [&](int k) -> std::vector<double>& {
    std::vector<double>& d = (*grad)[static_cast<size_t>(n.inputs[static_cast<size_t>(k)])];
    if (d.empty())
      d.assign(static_cast<size_t>(g_.value(n.inputs[static_cast<size_t>(k)]).numel()), 0.0);
    return d;
  };
  const ir::Value& xv = g_.value(n.inputs[0]);
  switch (n.op) {
    case ir::OpKind::kConv2d:
    case ir::OpKind::kDepthwiseConv2d:
    case ir::OpKind::kFullyConnected: {
      const ir::Value& wv = g_.value(n.inputs[1]);
      const Geometry q = ConvGeometry(g_, n);
      const std::vector<int8_t>& x = X(n);
      const int32_t zx = xv.quant.zero[0];
      const std::string key = "conv" + std::to_string(layer);
      std::vector<double>& dw = s_.grads[key + ".weight"];
      std::vector<double>& db = s_.grads[key + ".bias"];
      dw.assign(static_cast<size_t>(wv.numel()), 0.0);
      db.assign(static_cast<size_t>(q.O), 0.0);
      s_.op_of_key[key + ".weight"] = s_.op_of_key[key + ".bias"] = ir::OpName(n.op);
      std::vector<double>& gx = dx(0);
      for (int64_t o = 0; o < q.O; ++o) {
        const double eff = Eff(g_, n, o);
        for (int64_t oy = 0; oy < q.OH; ++oy)
          for (int64_t ox = 0; ox < q.OW; ++ox) {
            const double a = ga[static_cast<size_t>((o * q.OH + oy) * q.OW + ox)] * eff;
            db[static_cast<size_t>(o)] += a;
            Taps(n, q, o, oy, ox, [&](int64_t xi, int64_t wi) {
              dw[static_cast<size_t>(wi)] += a * (x[static_cast<size_t>(xi)] - zx);
              gx[static_cast<size_t>(xi)] += a * wv.as<int8_t>()[wi];
            });
          }
      }
      break;
    }
    case ir::OpKind::kAdd: {
      const double sy = static_cast<float>(g_.value(n.outputs[0]).quant.scale[0]);
      for (int k = 0; k < 2; ++k) {
        const double s =
            static_cast<float>(g_.value(n.inputs[static_cast<size_t>(k)]).quant.scale[0]);
        std::vector<double>& d = dx(k);
        for (size_t i = 0; i < ga.size(); ++i) d[i] += ga[i] * s / sy;
      }
      break;
    }
    case ir::OpKind::kAvgPool2d: {
      const std::vector<int64_t>& xs = xv.shape;
      const std::vector<int64_t>& ys = g_.value(n.outputs[0]).shape;
      const ir::Window2d& w = n.window;
      std::vector<double>& gx = dx(0);
      for (int64_t c = 0; c < ys[0]; ++c)
        for (int64_t oy = 0; oy < ys[1]; ++oy)
          for (int64_t ox = 0; ox < ys[2]; ++ox) {
            std::vector<int64_t> taps;
            for (int64_t ky = 0; ky < w.kh; ++ky)
              for (int64_t kx = 0; kx < w.kw; ++kx) {
                const int64_t iy = oy * w.sh - w.pad_t + ky, ix = ox * w.sw - w.pad_l + kx;
                if (iy >= 0 && iy < xs[1] && ix >= 0 && ix < xs[2])
                  taps.push_back((c * xs[1] + iy) * xs[2] + ix);
              }
            const double v = ga[static_cast<size_t>((c * ys[1] + oy) * ys[2] + ox)] /
                             static_cast<double>(taps.size());
            for (int64_t t : taps) gx[static_cast<size_t>(t)] += v;
          }
      break;
    }
    case ir::OpKind::kMean: {
      const int64_t cnt = xv.shape[1] * xv.shape[2];
      const double f =
          static_cast<float>(xv.quant.scale[0]) /
          (cnt * static_cast<double>(static_cast<float>(g_.value(n.outputs[0]).quant.scale[0])));
      std::vector<double>& gx = dx(0);
      for (int64_t c = 0; c < xv.shape[0]; ++c)
        for (int64_t i = 0; i < cnt; ++i)
          gx[static_cast<size_t>(c * cnt + i)] += ga[static_cast<size_t>(c)] * f;
      break;
    }
    case ir::OpKind::kPad: {
      const std::vector<int64_t>& xs = xv.shape;
      const std::vector<int64_t>& ys = g_.value(n.outputs[0]).shape;
      std::vector<double>& gx = dx(0);
      for (int64_t c = 0; c < xs[0]; ++c)
        for (int64_t h = 0; h < xs[1]; ++h)
          for (int64_t w = 0; w < xs[2]; ++w)
            gx[static_cast<size_t>((c * xs[1] + h) * xs[2] + w)] += ga[static_cast<size_t>(
                ((c + n.pad_c[0]) * ys[1] + h + n.pad_h[0]) * ys[2] + w + n.pad_w[0])];
      break;
    }
    case ir::OpKind::kReshape: {
      const std::vector<int64_t> src = ReshapeSource(g_, n);
      std::vector<double>& gx = dx(0);
      for (size_t k = 0; k < src.size(); ++k) gx[static_cast<size_t>(src[k])] += ga[k];
      break;
    }
    case ir::OpKind::kSoftmax:
      break;
  }
}

}  // namespace

// The classifier: the conv / fully connected node producing the output, through reshapes and a
// softmax.
int HeadNode(const ir::Graph& g) {
  const std::vector<int> producer = g.Producers();
  int v = g.output;
  while (v >= 0 && producer[static_cast<size_t>(v)] >= 0) {
    const ir::Node& n = g.nodes[static_cast<size_t>(producer[static_cast<size_t>(v)])];
    if (n.op == ir::OpKind::kConv2d || n.op == ir::OpKind::kFullyConnected)
      return producer[static_cast<size_t>(v)];
    if (n.op != ir::OpKind::kReshape && n.op != ir::OpKind::kSoftmax) return -1;
    v = n.inputs[0];
  }
  return -1;
}

GradSimulation SimulateGradients(const ir::Graph& g, const int8_t* input,
                                 const std::vector<float>& head_w, const std::vector<float>& head_b,
                                 int label) {
  GradSimulation s;
  s.act.resize(g.values.size());
  s.inside.resize(g.values.size());
  const ir::Value& in = g.value(g.input);
  s.act[static_cast<size_t>(g.input)].assign(input, input + in.numel());
  s.head_node = HeadNode(g);
  if (s.head_node < 0) return s;
  Simulator sim(g, &s);
  std::vector<int> layer(g.nodes.size(), -1);
  int n_layers = 0;
  for (int i = 0; i < s.head_node; ++i) {
    const ir::Node& n = g.nodes[static_cast<size_t>(i)];
    if (n.op == ir::OpKind::kConv2d || n.op == ir::OpKind::kDepthwiseConv2d ||
        n.op == ir::OpKind::kFullyConnected)
      layer[static_cast<size_t>(i)] = n_layers++;
    sim.Forward(n);
  }
  // The fp32 head over the classifier's input.
  const ir::Node& head = g.nodes[static_cast<size_t>(s.head_node)];
  const ir::Value& fv = g.value(head.inputs[0]);
  const std::vector<int8_t>& x = s.act[static_cast<size_t>(head.inputs[0])];
  const size_t C = x.size(), K = head_b.size();
  const double sx = static_cast<float>(fv.quant.scale[0]);
  std::vector<double> f(C);
  for (size_t c = 0; c < C; ++c) f[c] = (x[c] - fv.quant.zero[0]) * sx;
  s.logits.assign(K, 0.0);
  for (size_t k = 0; k < K; ++k) {
    s.logits[k] = head_b[k];
    for (size_t c = 0; c < C; ++c) s.logits[k] += static_cast<double>(head_w[k * C + c]) * f[c];
  }
  const double m = *std::max_element(s.logits.begin(), s.logits.end());
  double sum = 0;
  for (double l : s.logits) sum += std::exp(l - m);
  s.loss = m + std::log(sum) - s.logits[static_cast<size_t>(label)];
  std::vector<double> dl(K);
  for (size_t k = 0; k < K; ++k)
    dl[k] = std::exp(s.logits[k] - m) / sum - (static_cast<int>(k) == label ? 1.0 : 0.0);
  std::vector<double>&hw = s.grads["head.weight"], &hb = s.grads["head.bias"];
  hw.assign(K * C, 0.0);
  hb = dl;
  s.op_of_key["head.weight"] = s.op_of_key["head.bias"] = "head";
  std::vector<std::vector<double>> grad(g.values.size());
  std::vector<double>& gf = grad[static_cast<size_t>(head.inputs[0])];
  gf.assign(C, 0.0);
  for (size_t k = 0; k < K; ++k)
    for (size_t c = 0; c < C; ++c) {
      hw[k * C + c] = dl[k] * f[c];
      gf[c] += sx * head_w[k * C + c] * dl[k];
    }
  for (int i = s.head_node - 1; i >= 0; --i)
    sim.Backward(g.nodes[static_cast<size_t>(i)], &grad, layer[static_cast<size_t>(i)]);
  return s;
}

GradComparison CompareGradients(const std::map<std::string, Tensor>& tte, const GradSimulation& sim,
                                double tol) {
  GradComparison r;
  auto fail = [&](const std::string& line) { r.failures += line + "\n"; };
  for (const auto& [key, t] : tte) {
    std::vector<double> got(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < got.size(); ++i) got[i] = t.data<float>()[i];
    const std::vector<double>* want = nullptr;
    if (key == "loss") {
      if (std::fabs(got[0] - sim.loss) > tol * std::max(1.0, std::fabs(sim.loss)))
        fail("loss: tte " + std::to_string(got[0]) + ", simulation " + std::to_string(sim.loss));
      continue;
    }
    if (key == "logits") want = &sim.logits;
    auto it = sim.grads.find(key);
    if (it != sim.grads.end()) want = &it->second;
    if (!want || want->size() != got.size()) {
      fail(key + ": " +
           (want ? "size " + std::to_string(got.size()) + " vs " + std::to_string(want->size())
                 : "not simulated"));
      continue;
    }
    double scale = 0, err = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      scale = std::max(scale, std::fabs((*want)[i]));
      err = std::max(err, std::fabs(got[i] - (*want)[i]));
    }
    const double rel = scale > 0 ? err / scale : err;
    if (!(rel <= tol)) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "%s: max |tte - sim| %.3e, max |sim| %.3e, relative %.3e > %.1e", key.c_str(),
                    err, scale, rel, tol);
      fail(line);
    }
    if (key == "logits") continue;
    ++r.compared;
    if (rel >= r.worst) r.worst = rel, r.worst_key = key;
    auto op = sim.op_of_key.find(key);
    double& w = r.worst_by_op[op == sim.op_of_key.end() ? "?" : op->second];
    w = std::max(w, rel);
  }
  return r;
}

GradCheck CheckAgainstSimulation(const ir::Graph& g, const int8_t* input, int classes, int label,
                                 double tol, uint64_t seed, std::vector<float> head_w,
                                 std::vector<float> head_b) {
  GradCheck r;
  const int head = HeadNode(g);
  if (head < 0) {
    r.status = InvalidArgument("the simulation found no classifier");
    return r;
  }
  const size_t features =
      static_cast<size_t>(g.value(g.nodes[static_cast<size_t>(head)].inputs[0]).numel());
  if (head_w.empty()) {  // a fresh head as the reference draws it: uniform in +-1/sqrt(features)
    std::mt19937_64 rng(seed);
    const double bound = 1.0 / std::sqrt(static_cast<double>(features));
    std::uniform_real_distribution<double> u(-bound, bound);
    head_w.resize(features * static_cast<size_t>(classes));
    head_b.resize(static_cast<size_t>(classes));
    for (float& w : head_w) w = static_cast<float>(u(rng));
    for (float& b : head_b) b = static_cast<float>(u(rng));
  }
  GradientRequest req;
  req.model = &g;
  req.scheme.name = "full";
  req.scheme.full_update = true;
  req.head_weight = r.head_w = head_w;
  req.head_bias = r.head_b = head_b;
  req.num_classes = classes;
  req.input = input;
  req.label = label;
  auto grads = ComputeGradients(req);
  if (!grads.ok()) {
    r.status = grads.status();
    return r;
  }
  r.tte = std::move(*grads);
  r.sim = SimulateGradients(g, input, head_w, head_b, label);
  r.cmp = CompareGradients(r.tte, r.sim, tol);
  return r;
}

}  // namespace tte::testing
