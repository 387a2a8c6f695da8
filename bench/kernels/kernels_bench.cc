// Per-kernel benchmarks of the host fast paths (src/kernels/host) against the portable kernels, on every
// conv layer of mcunet-5fps (the real weights, scales and zero points from ../shared/models/mcunet-5fps.pkl
// when present, else the same geometries with random data). Both variants go through the same host entry
// point; the portable one with host::SetPortableOnly(true). Each layer has four kernels: forward
// (with the clamp mask) in FP32 requantization and in TFLITE requantization (conv_fwd_tflite: the same
// layer with the Q31 multipliers of its scales, as an imported TFLite model runs it), input gradient
// (accumulating; not for the first conv, whose input is the image)
// and weight gradient of all channels fused with the
// device-mode stochastic-rounding update (as `tte train` runs it). After Google Benchmark's own output, a
// side-by-side table lists portable vs host per layer (CPU time; the minimum over repetitions) and the sums
// per kernel.
//
//   kernels_bench [--benchmark_repetitions=5] [--benchmark_filter=conv_fwd] [--benchmark_min_time=0.05]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/host/host_kernels.h"
#include "model/pkl_io.h"

namespace tte {
namespace {

std::string SharedDir() {
  const char* env = std::getenv("TTE_SHARED_DIR");
  return env ? env : TTE_BENCH_SHARED_DIR;
}

// One conv layer with every buffer its three kernels need.
struct Layer {
  std::string name;
  bool first = false;  // the first conv (its input is the image)
  tte_conv_params p{}, p_tflite{};  // the same conv in FP32 and in TFLITE requantization
  std::vector<int8_t> w, x, y, xs, w_train;
  std::vector<uint8_t> mask, scratch;
  std::vector<int32_t> bias, mult, shift;
  std::vector<float> eff, g, dx, qas;
  std::vector<uint16_t> sel;
  uint32_t rng_state = 1;
  tte_sgd opt{};
  tte_conv_train t{};
  int32_t n = 0;
};

struct Geometry {
  int cin, cout, k, stride, groups, in_hw, x_zero, y_zero;
};

// mcunet-5fps at 128x128 (used when the .pkl is not available).
std::vector<Geometry> SyntheticGeometries() {
  std::vector<Geometry> g = {{3, 16, 3, 2, 1, 128, 0, -128}};
  struct B {
    int cin, mid, cout, k, stride, hw;
  };
  const B blocks[] = {{16, 16, 8, 3, 1, 64},    {8, 32, 16, 3, 2, 64},     {16, 48, 16, 3, 1, 32},
                      {16, 48, 24, 7, 2, 32},   {24, 120, 24, 3, 1, 16},   {24, 120, 40, 3, 2, 16},
                      {40, 160, 40, 7, 1, 8},   {40, 160, 48, 5, 1, 8},    {48, 144, 48, 3, 1, 8},
                      {48, 192, 48, 3, 1, 8},   {48, 240, 96, 7, 2, 8},    {96, 384, 96, 5, 1, 4},
                      {96, 384, 96, 5, 1, 4},   {96, 576, 160, 3, 1, 4}};
  for (size_t i = 0; i < std::size(blocks); ++i) {
    const B& b = blocks[i];
    if (i > 0) g.push_back({b.cin, b.mid, 1, 1, 1, b.hw, 0, -128});
    g.push_back({b.mid, b.mid, b.k, b.stride, b.mid, b.hw, -128, -128});
    g.push_back({b.mid, b.cout, 1, 1, 1, b.hw / b.stride, -128, 0});
  }
  return g;
}

std::unique_ptr<Layer> MakeLayer(const std::string& name, const Geometry& geo, const ConvLayer* real, std::mt19937& rng) {
  auto L = std::make_unique<Layer>();
  L->name = name;
  tte_conv_params& p = L->p;
  p.cin = geo.cin;
  p.cout = geo.cout;
  p.groups = geo.groups;
  p.depthwise = geo.groups > 1 && geo.groups == geo.cin;
  p.kh = p.kw = geo.k;
  p.sh = p.sw = geo.stride;
  p.dh = p.dw = 1;
  p.pad_t = p.pad_b = p.pad_l = p.pad_r = (geo.k - 1) / 2;
  tte_conv_whole(&p, geo.in_hw, geo.in_hw);
  p.x_zero = geo.x_zero;
  p.y_zero = geo.y_zero;
  p.act_min = -128;
  p.act_max = 127;
  p.requant = TTE_REQUANT_FP32;
  const size_t kk = static_cast<size_t>(geo.k) * geo.k, ipg = static_cast<size_t>(geo.cin / geo.groups);
  std::uniform_int_distribution<int> byte(-128, 127);
  if (real) {
    L->w = real->weight;
    L->bias = real->bias;
    L->eff = real->eff;
  } else {
    L->w.resize(static_cast<size_t>(geo.cout) * ipg * kk);
    for (int8_t& v : L->w) v = static_cast<int8_t>(byte(rng));
    L->bias.assign(static_cast<size_t>(geo.cout), 1000);
    L->eff.assign(static_cast<size_t>(geo.cout), 0.002f);
  }
  p.w.frozen = L->w.data();
  p.w.n_frozen = static_cast<int32_t>(ipg);
  p.bias_i32 = L->bias.data();
  p.eff = L->eff.data();
  // TFLITE: the multipliers of the same scales (what an imported model's layer of this shape computes).
  for (float e : L->eff) {
    int32_t m, sh;
    tte_quantize_multiplier(e, &m, &sh);
    L->mult.push_back(m);
    L->shift.push_back(sh);
  }
  L->p_tflite = p;
  L->p_tflite.requant = TTE_REQUANT_TFLITE;
  L->p_tflite.mult = L->mult.data();
  L->p_tflite.shift = L->shift.data();
  const size_t in = static_cast<size_t>(geo.cin) * geo.in_hw * geo.in_hw;
  const size_t out = static_cast<size_t>(geo.cout) * p.out.h * p.out.w;
  L->x.resize(in);
  for (int8_t& v : L->x) v = static_cast<int8_t>(byte(rng));
  L->y.resize(out);
  L->mask.resize((out + 7) / 8);
  L->g.resize(out);
  std::normal_distribution<float> normal(0.0f, 1e-3f);
  for (float& v : L->g) v = normal(rng);
  L->dx.assign(in, 0.0f);
  // Weight gradient of every selection channel, fused with the device-mode stochastic update.
  const bool dw = geo.groups > 1 && geo.groups == geo.cin;
  L->n = dw ? geo.cout : geo.cin;
  for (int32_t j = 0; j < L->n; ++j) L->sel.push_back(static_cast<uint16_t>(j));
  L->xs = L->x;
  L->w_train.resize(dw ? static_cast<size_t>(L->n) * kk : static_cast<size_t>(geo.cout) * L->n * kk);
  L->qas.assign(static_cast<size_t>(geo.cout), 1e-3f);
  L->opt.lr = 0.01f;
  L->opt.store = TTE_STORE_DEVICE;
  L->opt.rounding = TTE_ROUND_STOCHASTIC;
  L->opt.rng = &L->rng_state;
  L->opt.grad_scale = 1.0f;
  L->t.cout = geo.cout;
  L->t.n_train = L->n;
  L->t.kk = static_cast<int32_t>(kk);
  L->t.depthwise = dw;
  L->t.sel = L->sel.data();
  L->t.qas_w = L->qas.data();
  L->t.qas_b = L->qas.data();
  L->t.w = L->w_train.data();
  L->scratch.resize(std::max(host::ConvScratchBytes(p), host::ConvBackwardInputScratchBytes(p)));
  return L;
}

std::vector<std::unique_ptr<Layer>> g_layers;

double kMin(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

void RegisterAll() {
  std::mt19937 rng(1);
  auto model = LoadModel(SharedDir() + "/models/mcunet-5fps.pkl");
  if (model.ok()) {
    std::printf("layers: mcunet-5fps.pkl (real weights, scales, zero points)\n");
    for (const ConvLayer* c : model->Convs()) {
      if (c->index < 0) continue;
      const Geometry geo{c->in_channels, c->out_channels, c->kernel, c->stride, c->groups, c->in_hw, c->x_zero, c->y_zero};
      char name[96];
      std::snprintf(name, sizeof name, "L%02d_%dx%d_k%ds%d_%d%s", c->index, geo.cin, geo.cout, geo.k, geo.stride,
                    geo.in_hw, c->depthwise ? "_dw" : "");
      g_layers.push_back(MakeLayer(name, geo, c, rng));
      g_layers.back()->first = c == &model->first_conv;
    }
  } else {
    std::printf("layers: synthetic mcunet-5fps geometries (../shared/models/mcunet-5fps.pkl not found)\n");
    int i = 0;
    for (const Geometry& geo : SyntheticGeometries()) {
      char name[96];
      std::snprintf(name, sizeof name, "L%02d_%dx%d_k%ds%d_%d%s", i++, geo.cin, geo.cout, geo.k, geo.stride, geo.in_hw,
                    geo.groups > 1 ? "_dw" : "");
      g_layers.push_back(MakeLayer(name, geo, nullptr, rng));
      g_layers.back()->first = g_layers.size() == 1;
    }
  }
  std::printf("host ISA: %s\n", host::HostIsa());
  for (auto& owned : g_layers) {
    Layer* L = owned.get();
    for (int portable = 1; portable >= 0; --portable) {
      const std::string impl = portable ? "portable" : "host";
      const host::Scratch s{L->scratch.data(), L->scratch.size()};
      benchmark::RegisterBenchmark(("conv_fwd/" + L->name + "/" + impl).c_str(), [=](benchmark::State& st) {
        host::SetPortableOnly(portable);
        for (auto _ : st) host::Conv(&L->p, L->x.data(), L->y.data(), L->mask.data(), s);
        host::SetPortableOnly(false);
      })->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", kMin);
      benchmark::RegisterBenchmark(("conv_fwd_tflite/" + L->name + "/" + impl).c_str(), [=](benchmark::State& st) {
        host::SetPortableOnly(portable);
        for (auto _ : st) host::Conv(&L->p_tflite, L->x.data(), L->y.data(), L->mask.data(), s);
        host::SetPortableOnly(false);
      })->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", kMin);
      if (!L->first)  // no program computes the image's gradient
        benchmark::RegisterBenchmark(("bwd_input/" + L->name + "/" + impl).c_str(), [=](benchmark::State& st) {
          host::SetPortableOnly(portable);
          for (auto _ : st) host::ConvBackwardInput(&L->p, L->g.data(), L->dx.data(), 1, s);
          host::SetPortableOnly(false);
        })->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", kMin);
      benchmark::RegisterBenchmark(("weight_grad/" + L->name + "/" + impl).c_str(), [=](benchmark::State& st) {
        host::SetPortableOnly(portable);
        for (auto _ : st)
          host::ConvWeightGrad(&L->p, L->n, L->sel.data(), L->xs.data(), L->g.data(), nullptr, &L->opt, &L->t, s);
        host::SetPortableOnly(false);
      })->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", kMin);
    }
  }
}

// Console output as usual, plus a portable-vs-host table at the end (medians when repeated).
class SideBySideReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      // The minimum over repetitions: on a shared machine the least disturbed run is the best estimate.
      const bool min = r.run_type == Run::RT_Aggregate && r.aggregate_name == "min";
      if (!single && !min) continue;
      const std::string name = r.run_name.function_name;  // kind/layer/impl
      const size_t a = name.find('/'), b = name.rfind('/');
      times_[name.substr(0, a)][name.substr(a + 1, b - a - 1)][name.substr(b + 1)] = r.GetAdjustedCPUTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nportable vs host (CPU us per call%s)\n", "; minimum over repetitions when --benchmark_repetitions > 1");
    for (const auto& [kind, layers] : times_) {
      double sp = 0, sh = 0;
      std::printf("\n%-12s %-26s %12s %12s %9s\n", kind.c_str(), "layer", "portable", "host", "speed-up");
      for (const auto& [layer, t] : layers) {
        auto p = t.find("portable"), h = t.find("host");
        if (p == t.end() || h == t.end()) continue;
        sp += p->second;
        sh += h->second;
        std::printf("%-12s %-26s %12.2f %12.2f %8.2fx\n", "", layer.c_str(), p->second, h->second, p->second / h->second);
      }
      std::printf("%-12s %-26s %12.2f %12.2f %8.2fx\n", kind.c_str(), "SUM over layers", sp, sh, sh > 0 ? sp / sh : 0.0);
    }
  }

 private:
  std::map<std::string, std::map<std::string, std::map<std::string, double>>> times_;
};

}  // namespace
}  // namespace tte

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  tte::RegisterAll();
  tte::SideBySideReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
