// Sparse-update schemes and compile-time pruning: every scheme the reference ships loads and compiles
// for its model; channels are the top-magnitude ones and the compiled program trains exactly those; the
// backward stops at the earliest trained conv; frozen weights get no gradient; saved inputs hold only the
// kept channels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>

#include "compiler/train_compiler.h"
#include "core/file_io.h"
#include "model/pkl_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

std::vector<uint16_t> SelOf(const Program& p, const ConvBinding& b) {
  std::vector<uint16_t> sel(b.n_train);
  std::memcpy(sel.data(), p.tensors[b.sel].init.data(), sel.size() * 2);
  return sel;
}

TEST(Schemes, EveryReferenceSchemeLoadsAndCompiles) {
  TTE_REQUIRE_SHARED("reference/schemes.json");
  auto text = ReadTextFile(testing::SharedPath("reference/schemes.json"));
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text);
  int compiled = 0, loaded = 0;
  for (auto& [net, schemes] : j.items()) {
    if (net[0] == '_') continue;
    const std::string model_rel = "models/" + net + ".pkl";
    std::optional<ir::Graph> m;
    if (!testing::SharedPath(model_rel).empty()) m = *testing::LoadGraph(testing::SharedPath(model_rel));
    for (auto& [name, _] : schemes.items()) {
      auto s = ParseScheme(*text, "schemes.json", net + "/" + name, net);
      ASSERT_TRUE(s.ok()) << net << "/" << name << ": " << s.status().ToString();
      ++loaded;
      if (!m) continue;  // proxyless-w0.3: structure only
      TrainOptions o;
      auto ct = CompileTraining(*m, *s, o);
      ASSERT_TRUE(ct.ok()) << net << "/" << name << ": " << ct.status().ToString();
      ++compiled;
    }
  }
  EXPECT_EQ(loaded, 21);  // 6 mbv2-w0.35 + 9 mcunet-5fps + 6 proxyless-w0.3
  EXPECT_EQ(compiled, 15);  // the two models with weights here
}

TEST(Schemes, SelectionNeedsANameWhenTheFileHoldsSeveral) {
  TTE_REQUIRE_SHARED("reference/schemes.json");
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), "", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--scheme-name"), std::string::npos) << s.status().message();
  auto amb = LoadScheme(testing::SharedPath("reference/schemes.json"), "49kb", "");
  ASSERT_FALSE(amb.ok());
  EXPECT_NE(amb.status().message().find("mcunet-5fps/49kb"), std::string::npos) << amb.status().message();
}

TEST(Schemes, ReferenceStringFormsParse) {
  auto s = ParseScheme(R"({"n_bias_update": 22, "manual_weight_idx": "21-24-27-30-36-39",
                          "weight_update_ratio": "1-1-1-1-0.125-0.25"})", "cli", "", "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->weights.size(), 6u);
  EXPECT_EQ(s->weights[4].conv, 36);
  EXPECT_DOUBLE_EQ(s->weights[5].ratio, 0.25);
  auto bad = ParseScheme(R"({"n_bias_update": 22, "manual_weight_idx": [21, 24], "weight_update_ratio": [1]})", "x", "", "");
  EXPECT_TRUE(bad.ok());  // one ratio applies to all
  auto worse = ParseScheme(R"({"manual_weight_idx": [21, 24], "weight_update_ratio": [1, 1, 1]})", "x.json", "", "");
  ASSERT_FALSE(worse.ok());
  EXPECT_NE(worse.status().message().find("weight_update_ratio"), std::string::npos);
}

TEST(Schemes, WeightOutsideTheBiasRangeIsRefusedAsTheReferenceAsserts) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  auto s = ParseScheme(R"({"n_bias_update": 5, "manual_weight_idx": [30], "weight_update_ratio": [1]})", "x.json", "", "");
  ASSERT_TRUE(s.ok());
  auto view = MakeLayerView(*m);
  ASSERT_TRUE(view.ok());
  auto r = ResolveScheme(*s, *m, *view);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("conv 30"), std::string::npos) << r.status().message();
}

// The kept channels are the top-k L2 norms of W[:, i] (int domain), computed independently here, and the
// compiled program trains exactly those (the reference's compiler took the first k instead).
TEST(Pruning, CompiledChannelsAreTheTopMagnitudeOnes) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), "sparse_100kb", "mcunet-5fps");
  ASSERT_TRUE(m.ok() && s.ok());
  auto ct = CompileTraining(*m, *s, TrainOptions{});
  ASSERT_TRUE(ct.ok());
  const Program& P = ct->program;
  for (int idx : {36, 39}) {
    const Layer& c = ct->view.layers[static_cast<size_t>(idx)];
    const int8_t* weight = m->value(c.weight).as<int8_t>();
    std::vector<double> norm(c.cin, 0);
    for (int o = 0; o < c.cout; ++o)
      for (int i = 0; i < c.cin; ++i) norm[i] += std::pow(weight[static_cast<size_t>(o) * c.cin + i], 2);
    std::vector<int> order(c.cin);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return norm[a] > norm[b]; });
    const int keep = idx == 36 ? 12 : 24;  // 96 * 1/8, 96 * 1/4
    std::vector<int> want(order.begin(), order.begin() + keep);
    std::sort(want.begin(), want.end());
    const ConvBinding& b = P.convs[idx];
    ASSERT_TRUE(b.train_weight);
    std::vector<uint16_t> got = SelOf(P, b);
    ASSERT_EQ(got.size(), want.size());
    for (int j = 0; j < keep; ++j) EXPECT_EQ(got[j], want[j]) << "conv " << idx << " channel " << j;
    bool prefix = true;
    for (int j = 0; j < keep; ++j) prefix &= got[j] == j;
    EXPECT_FALSE(prefix) << "conv " << idx << ": the selection must not be the first-k prefix";
  }
}

TEST(Pruning, BackwardStopsAtTheEarliestTrainedConvAndFrozenWeightsGetNoGradient) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), "sparse_100kb", "mcunet-5fps");
  auto ct = CompileTraining(*m, *s, TrainOptions{});
  ASSERT_TRUE(ct.ok());
  const Program& P = ct->program;
  std::set<int> weight_grads, bias_grads, dx;
  for (const Op& op : P.ops) {
    if (op.phase != Phase::kBackward) continue;
    if (op.conv >= 0) {
      EXPECT_GE(op.conv, 20) << OpCodeName(op.code) << " below the earliest trained conv (20)";
    }
    if (op.code == OpCode::kConvWeightGrad) weight_grads.insert(op.conv);
    if (op.code == OpCode::kConvBiasGrad) bias_grads.insert(op.conv);
    if (op.code == OpCode::kConvBackwardInput) dx.insert(op.conv);
  }
  EXPECT_EQ(weight_grads, (std::set<int>{21, 24, 27, 30, 36, 39}));
  EXPECT_EQ(bias_grads.size(), 22u);
  EXPECT_EQ(*bias_grads.begin(), 20);
  EXPECT_EQ(dx.count(20), 0u) << "nobody needs the input gradient of the earliest trained conv";
  // Saved inputs: only the kept channels of 36 and 39 (12 and 24 of 96) are gathered; masks only from 20 on.
  for (const TensorInfo& t : P.tensors) {
    if (t.name == "b12.pw1.saved_input") {
      EXPECT_EQ(t.shape[0], 12);
    }
    if (t.name == "b13.pw1.saved_input") {
      EXPECT_EQ(t.shape[0], 24);
    }
    if (t.bits) {
      const std::string n = t.name;
      EXPECT_TRUE(n.rfind("b6.pw2", 0) == 0 || n.rfind("b6.add", 0) == 0 || n[1] >= '7' || n.rfind("b1", 0) == 0)
          << "mask " << n << " before the trained region";
    }
  }
}

TEST(Pruning, HeadOnlyProgramHasNoConvBackward) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mbv2-w0.35.pkl"));
  auto s = BuiltinScheme("head-only");
  auto ct = CompileTraining(*m, *s, TrainOptions{});
  ASSERT_TRUE(ct.ok());
  for (const Op& op : ct->program.ops) {
    EXPECT_NE(op.phase == Phase::kBackward && op.code != OpCode::kHeadBackward, true) << OpCodeName(op.code);
  }
  for (const TensorInfo& t : ct->program.tensors) EXPECT_FALSE(t.bits) << t.name;
}

TEST(Compile, PrinterShowsCountsAndTrainedChannels) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), "49kb", "mcunet-5fps");
  auto ct = CompileTraining(*m, *s, TrainOptions{});
  ASSERT_TRUE(ct.ok());
  std::string text = ProgramToText(ct->program);
  EXPECT_NE(text.find("op counts:"), std::string::npos);
  EXPECT_NE(text.find("conv_weight_grad 3"), std::string::npos) << text.substr(text.find("op counts:"));
  EXPECT_NE(text.find("conv 24 (b8.pw1): bias yes, weight 12/48"), std::string::npos);
  EXPECT_EQ(text, ProgramToText(ct->program)) << "the text form must be stable";
}

}  // namespace
}  // namespace tte
