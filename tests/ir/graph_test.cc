// ir::Graph: the .pkl importer's graph, the verifier's rejections (each names the node), the text dump.
#include <gtest/gtest.h>

#include <cmath>

#include "import/pkl/graph_from_model.h"
#include "ir/graph.h"
#include "ir/serialize.h"
#include "model/pkl_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

ir::Graph DefaultBackboneGraph(int resolution = 0) {
  auto m = LoadModel(testing::SourcePath("models/default-backbone.pkl"));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  auto g = GraphFromModel(*m, resolution);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

int CountOps(const ir::Graph& g, ir::OpKind k) {
  int n = 0;
  for (const ir::Node& nd : g.nodes) n += nd.op == k;
  return n;
}

TEST(PklGraph, HasOneConvNodePerLayerPlusTheClassifier) {
  auto m = LoadModel(testing::SourcePath("models/default-backbone.pkl"));
  ASSERT_TRUE(m.ok());
  ir::Graph g = DefaultBackboneGraph();
  int residuals = 0;
  for (const Block& b : m->blocks) residuals += b.residual.has_value();
  EXPECT_EQ(CountOps(g, ir::OpKind::kConv2d) + CountOps(g, ir::OpKind::kDepthwiseConv2d), m->NumConvs() + 1);
  EXPECT_EQ(CountOps(g, ir::OpKind::kAdd), residuals);
  EXPECT_EQ(CountOps(g, ir::OpKind::kAvgPool2d), 1);
  EXPECT_EQ(g.nodes.back().name, "classifier");
  EXPECT_EQ(g.value(g.output).shape, (std::vector<int64_t>{m->num_classes(), 1, 1}));
  EXPECT_EQ(g.input_spec.c, 3);
  EXPECT_EQ(g.input_spec.pixels, ir::PixelRule::kMinus128);
  EXPECT_EQ(g.requant, ir::Requant::kReferenceFp32);
  // Stride-2 3x3 convs pad one pixel on every side, as the reference.
  const ir::Node& first = g.nodes.front();
  EXPECT_EQ(first.name, "first_conv");
  EXPECT_EQ(first.window.pad_t, 1);
  EXPECT_EQ(first.window.pad_b, 1);
}

TEST(PklGraph, OtherResolutionsChangeOnlyShapes) {
  ir::Graph a = DefaultBackboneGraph(), b = DefaultBackboneGraph(96);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  EXPECT_EQ(b.value(b.input).shape[1], 96);
  EXPECT_EQ(b.value(b.output).shape, a.value(a.output).shape);
}

TEST(PklGraph, PaperModelsVerify) {
  for (const char* name : {"models/mcunet-5fps.pkl", "models/mbv2-w0.35.pkl"}) {
    TTE_REQUIRE_SHARED(name);
    auto m = LoadModel(testing::SharedPath(name));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto g = GraphFromModel(*m);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(CountOps(*g, ir::OpKind::kConv2d) + CountOps(*g, ir::OpKind::kDepthwiseConv2d), m->NumConvs() + 1);
  }
}

// Each mutation must be rejected with a message naming the node (or value) at fault.
struct Breakage {
  const char* what;
  void (*mutate)(ir::Graph&);
  const char* expect;  // substring of the message
};

TEST(Verify, RejectsBrokenGraphsNamingTheNode) {
  const Breakage cases[] = {
      {"bias of the wrong length", [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[0].inputs[2])].shape = {3}; },
       "first_conv"},
      {"non-zero weight zero point",
       [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[0].inputs[1])].quant.zero[0] = 3; }, "symmetric"},
      {"activation range outside int8", [](ir::Graph& g) { g.nodes[1].act_min = -200; }, "activation range"},
      {"inverted activation range", [](ir::Graph& g) { g.nodes[1].act_min = 10, g.nodes[1].act_max = 5; }, "activation range"},
      {"wrong output shape", [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[0].outputs[0])].shape[1] += 1; },
       "expected"},
      {"zero scale", [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[0].outputs[0])].quant.scale[0] = 0; }, "scale"},
      {"NaN scale", [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[2].outputs[0])].quant.scale[0] = std::nan(""); },
       "scale"},
      {"zero point outside int8", [](ir::Graph& g) { g.values[static_cast<size_t>(g.input)].quant.zero[0] = 300; }, "zero point"},
      {"nodes out of order", [](ir::Graph& g) { std::swap(g.nodes[0], g.nodes[1]); }, "before it is computed"},
      {"a value produced twice", [](ir::Graph& g) { g.nodes[1].outputs = g.nodes[0].outputs; }, "also produced"},
      {"missing input", [](ir::Graph& g) { g.nodes[1].inputs.pop_back(); }, "inputs, expected"},
      {"truncated weights", [](ir::Graph& g) { g.values[static_cast<size_t>(g.nodes[0].inputs[1])].data.pop_back(); }, "bytes of data"},
      {"negative padding", [](ir::Graph& g) { g.nodes[0].window.pad_t = -1; }, "pads"},
      {"input spec mismatch", [](ir::Graph& g) { g.input_spec.h += 1; }, "input spec"},
      {"pool changing the scale",
       [](ir::Graph& g) {
         for (ir::Node& n : g.nodes)
           if (n.op == ir::OpKind::kAvgPool2d) g.values[static_cast<size_t>(n.outputs[0])].quant.scale[0] *= 2;
       },
       "same scale"},
  };
  for (const Breakage& c : cases) {
    ir::Graph g = DefaultBackboneGraph();
    ASSERT_TRUE(ir::Verify(g).ok());
    c.mutate(g);
    Status s = ir::Verify(g);
    EXPECT_FALSE(s.ok()) << c.what;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.what << ": " << s.message();
    EXPECT_NE(s.message().find("default-backbone.pkl"), std::string::npos) << c.what << ": " << s.message();
  }
}

TEST(GraphText, IsStableAndReadable) {
  ir::Graph g = DefaultBackboneGraph();
  const std::string t = ir::ToText(g);
  EXPECT_EQ(t, ir::ToText(DefaultBackboneGraph()));
  EXPECT_NE(t.find("requant reference-fp32"), std::string::npos);
  EXPECT_NE(t.find("conv2d (v0, "), std::string::npos);
  EXPECT_NE(t.find("k3x3 s2x2 d1x1 pad t1 b1 l1 r1 'first_conv'"), std::string::npos) << t.substr(0, 2000);
  EXPECT_NE(t.find("avg_pool2d"), std::string::npos);
}

TEST(WindowOutSize, FollowsTheFormula) {
  EXPECT_EQ(ir::WindowOutSize(96, 3, 2, 1, 0, 1), 48);   // TFLite SAME, even input: 0 top, 1 bottom
  EXPECT_EQ(ir::WindowOutSize(49, 10, 2, 1, 4, 5), 25);  // DS-CNN's 10x4 first conv, rows
  EXPECT_EQ(ir::WindowOutSize(5, 3, 1, 2, 0, 0), 1);     // dilation 2: span 5
  EXPECT_EQ(ir::WindowOutSize(2, 3, 1, 1, 0, 0), 0);     // too small
  EXPECT_EQ(ir::WindowOutSize(7, 3, 0, 1, 0, 0), 0);     // bad stride
}

}  // namespace
}  // namespace tte

namespace tte {
namespace {

TEST(GraphJson, RoundTripsExactly) {
  ir::Graph g = DefaultBackboneGraph();
  g.fp_head = ir::FpHead{4, 2, {1, 2, 3, 4, 5, 6, 7, 8}, {0.5f, -0.5f}};
  g.class_names = {"a", "b"};
  auto back = ir::GraphFromJson(ir::GraphToJson(g), ir::GraphConstants(g), "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ir::ToText(*back), ir::ToText(g));
  ASSERT_EQ(back->values.size(), g.values.size());
  for (size_t i = 0; i < g.values.size(); ++i) EXPECT_EQ(back->values[i].data, g.values[i].data) << i;
  EXPECT_EQ(back->fp_head.weight, g.fp_head.weight);
  EXPECT_EQ(back->class_names, g.class_names);
}

TEST(GraphJson, BadInputIsAClearError) {
  ir::Graph g = DefaultBackboneGraph();
  nlohmann::json j = ir::GraphToJson(g);
  auto consts = ir::GraphConstants(g);
  consts.erase(consts.begin());
  auto r = ir::GraphFromJson(j, consts, "g.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is missing"), std::string::npos) << r.status().message();
  j = ir::GraphToJson(g);
  j["nodes"][0]["op"] = "hard_swish";
  r = ir::GraphFromJson(j, ir::GraphConstants(g), "g.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown op 'hard_swish'"), std::string::npos) << r.status().message();
  j = ir::GraphToJson(g);
  j["nodes"][0].erase("window");
  r = ir::GraphFromJson(j, ir::GraphConstants(g), "g.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("g.json: malformed graph JSON"), std::string::npos) << r.status().message();
  j = ir::GraphToJson(g);
  j["nodes"][1]["inputs"][0] = 100000;  // the verifier runs on the result
  r = ir::GraphFromJson(j, ir::GraphConstants(g), "g.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is not a value"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tte
