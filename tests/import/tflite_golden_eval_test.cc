// The imported graphs compute what TFLite computes: a small evaluator of ir::Graph written here
// from ARITHMETIC.md (TFLite's integer formulas: QuantizeMultiplier, MultiplyByQuantizedMultiplier,
// add, average pool) runs every MLPerf Tiny model on every golden input, and each op's output must
// equal TFLite's dump bit for bit, up to the last FULLY_CONNECTED (the softmax is not evaluated
// here). Layout mistakes of the importer (weights permuted wrongly, padding on the wrong side, a
// wrong clamp) show up as mismatches; ops.json agreement alone would not catch them.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/npy.h"
#include "import/tflite/importer.h"
#include "support/test_support.h"
#include "support/tflite_reference_math.h"

namespace tte {
namespace {

// TFLite's integer arithmetic: support/tflite_reference_math.h
using namespace ::tte::testing::tflite_math;

int8_t Clamp(int32_t v, const ir::Node& n) {
  return static_cast<int8_t>(std::clamp(v, n.act_min, n.act_max));
}

// ------------------------------------------------------------------ the evaluator ([C,H,W] int8)
using Act = std::vector<int8_t>;

Act Conv(const ir::Graph& g, const ir::Node& n, const Act& x) {
  const ir::Value &xv = g.value(n.inputs[0]), &wv = g.value(n.inputs[1]),
                  &bv = g.value(n.inputs[2]);
  const ir::Value& yv = g.value(n.outputs[0]);
  const int64_t C = xv.shape[0], H = xv.shape[1], W = xv.shape[2];
  const int64_t O = yv.shape[0], OH = yv.shape[1], OW = yv.shape[2];
  const int64_t I = wv.shape[1], KH = wv.shape[2], KW = wv.shape[3];
  const ir::Window2d& w = n.window;
  const int32_t zx = xv.quant.zero[0], zy = yv.quant.zero[0];
  const bool dw = n.op == ir::OpKind::kDepthwiseConv2d;
  const int64_t per_group = O / n.groups;
  Act y(static_cast<size_t>(O * OH * OW));
  for (int64_t o = 0; o < O; ++o) {
    const double ws =
        wv.quant.scale.size() == 1 ? wv.quant.scale[0] : wv.quant.scale[static_cast<size_t>(o)];
    int32_t m;
    int shift;
    QuantizeMultiplier(xv.quant.scale[0] * ws / yv.quant.scale[0], &m, &shift);
    const int64_t c0 = dw ? o / n.depth_multiplier : (o / per_group) * I;
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        int32_t acc = bv.as<int32_t>()[o];
        for (int64_t i = 0; i < I; ++i)
          for (int64_t ky = 0; ky < KH; ++ky)
            for (int64_t kx = 0; kx < KW; ++kx) {
              const int64_t iy = oy * w.sh - w.pad_t + ky * w.dh,
                            ix = ox * w.sw - w.pad_l + kx * w.dw;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const int32_t xval = x[static_cast<size_t>(((c0 + i) * H + iy) * W + ix)] - zx;
              acc += xval * wv.as<int8_t>()[((o * I + i) * KH + ky) * KW + kx];
            }
        y[static_cast<size_t>((o * OH + oy) * OW + ox)] = Clamp(Mbqm(acc, m, shift) + zy, n);
      }
    (void)C;
  }
  return y;
}

Act FullyConnected(const ir::Graph& g, const ir::Node& n, const Act& x) {
  const ir::Value &xv = g.value(n.inputs[0]), &wv = g.value(n.inputs[1]),
                  &bv = g.value(n.inputs[2]);
  const ir::Value& yv = g.value(n.outputs[0]);
  const int64_t O = wv.shape[0], N = static_cast<int64_t>(x.size());
  Act y(static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) {
    double real;
    if (wv.quant.scale.size() == 1) {  // per tensor: the scales' product in float32 first
      const float prod =
          static_cast<float>(xv.quant.scale[0]) * static_cast<float>(wv.quant.scale[0]);
      real = static_cast<double>(prod) / yv.quant.scale[0];
    } else {
      real = xv.quant.scale[0] * wv.quant.scale[static_cast<size_t>(o)] / yv.quant.scale[0];
    }
    int32_t m;
    int shift;
    QuantizeMultiplier(real, &m, &shift);
    int32_t acc = bv.as<int32_t>()[o];
    for (int64_t j = 0; j < N; ++j)
      acc += (x[static_cast<size_t>(j)] - xv.quant.zero[0]) * wv.as<int8_t>()[o * N + j];
    y[static_cast<size_t>(o)] = Clamp(Mbqm(acc, m, shift) + yv.quant.zero[0], n);
  }
  return y;
}

Act Add(const ir::Graph& g, const ir::Node& n, const Act& a, const Act& b) {
  const ir::Quant &qa = g.value(n.inputs[0]).quant, &qb = g.value(n.inputs[1]).quant,
                  &qy = g.value(n.outputs[0]).quant;
  const double twice_max = 2 * std::max(qa.scale[0], qb.scale[0]);
  int32_t ma, mb, my;
  int sa, sb, sy;
  QuantizeMultiplier(qa.scale[0] / twice_max, &ma, &sa);
  QuantizeMultiplier(qb.scale[0] / twice_max, &mb, &sb);
  QuantizeMultiplier(twice_max / ((1 << 20) * qy.scale[0]), &my, &sy);
  Act y(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const int32_t xa = Mbqm((a[i] - qa.zero[0]) * (1 << 20), ma, sa);
    const int32_t xb = Mbqm((b[i] - qb.zero[0]) * (1 << 20), mb, sb);
    y[i] = Clamp(Mbqm(xa + xb, my, sy) + qy.zero[0], n);
  }
  return y;
}

Act AvgPool(const ir::Graph& g, const ir::Node& n, const Act& x) {
  const ir::Value &xv = g.value(n.inputs[0]), &yv = g.value(n.outputs[0]);
  const int64_t H = xv.shape[1], W = xv.shape[2], C = yv.shape[0], OH = yv.shape[1],
                OW = yv.shape[2];
  const ir::Window2d& w = n.window;
  Act y(static_cast<size_t>(C * OH * OW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        int32_t sum = 0, count = 0;
        for (int64_t ky = 0; ky < w.kh; ++ky)
          for (int64_t kx = 0; kx < w.kw; ++kx) {
            const int64_t iy = oy * w.sh - w.pad_t + ky, ix = ox * w.sw - w.pad_l + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            sum += x[static_cast<size_t>((c * H + iy) * W + ix)];
            ++count;
          }
        const int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
        y[static_cast<size_t>((c * OH + oy) * OW + ox)] = Clamp(avg, n);
      }
  return y;
}

// [C,H,W] <-> NHWC order of the same elements.
Act ToNhwc(const Act& x, const std::vector<int64_t>& s) {
  Act y(x.size());
  for (int64_t c = 0; c < s[0]; ++c)
    for (int64_t h = 0; h < s[1]; ++h)
      for (int64_t w = 0; w < s[2]; ++w)
        y[static_cast<size_t>((h * s[2] + w) * s[0] + c)] =
            x[static_cast<size_t>((c * s[1] + h) * s[2] + w)];
  return y;
}
Act FromNhwc(const Act& x, const std::vector<int64_t>& s) {
  Act y(x.size());
  for (int64_t c = 0; c < s[0]; ++c)
    for (int64_t h = 0; h < s[1]; ++h)
      for (int64_t w = 0; w < s[2]; ++w)
        y[static_cast<size_t>((c * s[1] + h) * s[2] + w)] =
            x[static_cast<size_t>((h * s[2] + w) * s[0] + c)];
  return y;
}

Act Eval(const ir::Graph& g, const ir::Node& n, const std::vector<Act>& v) {
  const Act& x = v[static_cast<size_t>(n.inputs[0])];
  switch (n.op) {
    case ir::OpKind::kConv2d:
    case ir::OpKind::kDepthwiseConv2d:
      return Conv(g, n, x);
    case ir::OpKind::kFullyConnected:
      return FullyConnected(g, n, x);
    case ir::OpKind::kAdd:
      return Add(g, n, x, v[static_cast<size_t>(n.inputs[1])]);
    case ir::OpKind::kAvgPool2d:
      return AvgPool(g, n, x);
    case ir::OpKind::kReshape:  // NHWC order in, NHWC order out
      return FromNhwc(ToNhwc(x, g.value(n.inputs[0]).shape), g.value(n.outputs[0]).shape);
    default:
      ADD_FAILURE() << "the test evaluator has no " << ir::OpName(n.op);
      return Act(static_cast<size_t>(g.value(n.outputs[0]).numel()));
  }
}

// ------------------------------------------------------------------ the test
Act Int8s(const Tensor& t) { return Act(t.data<int8_t>(), t.data<int8_t>() + t.numel()); }

TEST(TfliteGoldenEval, EveryOpOfEveryModelMatchesTfliteBitForBit) {
  TTE_REQUIRE_SHARED("tflite/golden");
  int ops_checked = 0;
  for (const char* model :
       {"vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"}) {
    auto g = tflite::ImportTflite(
        testing::SharedPath("tflite/models/" + std::string(model) + ".tflite"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    for (const auto& dir : std::filesystem::directory_iterator(
             testing::SharedPath("tflite/golden/" + std::string(model)))) {
      const std::string where = std::string(model) + "/" + dir.path().filename().string();
      const auto ops =
          nlohmann::json::parse(*ReadTextFile((dir.path() / "ops.json").string()))["ops"];
      auto input = ReadNpy((dir.path() / "input.npy").string());
      ASSERT_TRUE(input.ok()) << input.status().ToString();
      std::vector<Act> v(g->values.size());
      v[static_cast<size_t>(g->input)] = FromNhwc(Int8s(*input), g->value(g->input).shape);
      for (size_t i = 0; i < g->nodes.size(); ++i) {
        const ir::Node& n = g->nodes[i];
        if (n.op == ir::OpKind::kSoftmax) break;
        v[static_cast<size_t>(n.outputs[0])] = Eval(*g, n, v);
        auto golden = ReadNpy((dir.path() / ops[i]["files"][0].get<std::string>()).string());
        ASSERT_TRUE(golden.ok()) << golden.status().ToString();
        const Act want = FromNhwc(Int8s(*golden), g->value(n.outputs[0]).shape);
        const Act& got = v[static_cast<size_t>(n.outputs[0])];
        ASSERT_EQ(got.size(), want.size()) << where << " " << n.name;
        size_t bad = 0;
        for (size_t k = 0; k < got.size(); ++k) bad += got[k] != want[k];
        EXPECT_EQ(bad, 0u) << where << " " << n.name << ": " << bad << " of " << got.size()
                           << " values differ";
        ++ops_checked;
      }
    }
  }
  std::printf("checked %d op outputs against TFLite's goldens\n", ops_checked);
}

}  // namespace
}  // namespace tte
