// TFLite -> ir::Graph: every MLPerf Tiny model imports and agrees, op by op, with the ops.json that
// TFLite's interpreter wrote beside the goldens (shapes, scales, zero points, padding, strides,
// activation), after the layout change; our own models import with weights exactly where tte's
// layout puts them; TFLite's padding and activation-range arithmetic on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "import/model_file.h"
#include "import/tflite/importer.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

using nlohmann::json;
using tflite::Activation;
using tflite::Padding;

const char* const kModels[] = {"vww_96_int8", "pretrainedResnet_quant", "kws_ref_model",
                               "ad01_int8"};

// The tte shape of a TFLite activation shape.
std::vector<int64_t> TteShape(const json& shape) {
  if (shape.size() == 4)
    return {shape[3].get<int64_t>(), shape[1].get<int64_t>(), shape[2].get<int64_t>()};
  return {shape[1].get<int64_t>(), 1, 1};
}

// Expected clamp, computed here the way TFLite's kernel_util does (float32 quotient, round half
// away).
std::pair<int, int> ExpectedRange(const std::string& act, float scale, int zero) {
  auto q = [&](float v) { return zero + static_cast<int>(std::round(v / scale)); };
  if (act == "RELU") return {std::max(-128, q(0)), 127};
  if (act == "RELU6") return {std::max(-128, q(0)), std::min(127, q(6))};
  EXPECT_EQ(act, "NONE");
  return {-128, 127};
}

void CheckQuant(const ir::Value& v, const json& t, const std::string& where) {
  ASSERT_EQ(v.quant.scale.size(), t["scale"].size()) << where;
  for (size_t i = 0; i < v.quant.scale.size(); ++i) {
    EXPECT_EQ(v.quant.scale[i], t["scale"][i].get<double>()) << where << " scale " << i;
    EXPECT_EQ(v.quant.zero[i], t["zero_point"][i].get<int>()) << where << " zero " << i;
  }
}

// One expected pad pair of a window (TFLite's padding.h written out once more, independently).
std::pair<int, int> ExpectedPads(const std::string& padding, int in, int k, int stride) {
  if (padding == "VALID") return {0, 0};
  int out = (in + stride - 1) / stride;
  int total = std::max((out - 1) * stride + k - in, 0);
  return {total / 2, total - total / 2};
}

void CheckModelAgainstOpsJson(const std::string& model, const std::string& input) {
  SCOPED_TRACE(model + "/" + input);
  auto text =
      ReadTextFile(testing::SharedPath("tflite/golden/" + model + "/" + input + "/ops.json"));
  ASSERT_TRUE(text.ok());
  const json doc = json::parse(*text);
  const json& tensors = doc["tensors"];
  auto g = tflite::ImportTflite(testing::SharedPath("tflite/models/" + model + ".tflite"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), doc["ops"].size());
  EXPECT_EQ(g->value(g->input).source_tensor, doc["graph_inputs"][0].get<int>());
  EXPECT_EQ(g->value(g->output).source_tensor, doc["graph_outputs"][0].get<int>());
  for (const json& op : doc["ops"]) {
    const int index = op["index"].get<int>();
    const std::string name = op["op"].get<std::string>();
    const ir::Node& n = g->nodes[static_cast<size_t>(index)];
    const std::string where = "op " + std::to_string(index) + " " + name;
    EXPECT_EQ(n.source_op, index) << where;
    EXPECT_EQ(n.name.rfind(where + " (", 0), 0u) << n.name;
    // Output: shape in tte's layout, quantization as in the file.
    const json& out = tensors[op["outputs"][0].get<size_t>()];
    const ir::Value& y = g->value(n.outputs[0]);
    EXPECT_EQ(y.source_tensor, out["index"].get<int>()) << where;
    EXPECT_EQ(y.shape, TteShape(out["shape"])) << where;
    CheckQuant(y, out, where + " output");
    // Data input.
    const json& in = tensors[op["inputs"][0].get<size_t>()];
    const ir::Value& x = g->value(n.inputs[0]);
    EXPECT_EQ(x.source_tensor, in["index"].get<int>()) << where;
    EXPECT_EQ(x.shape, TteShape(in["shape"])) << where;
    CheckQuant(x, in, where + " input");
    const json& o = op["options"];
    if (o.contains("fused_activation")) {
      auto [lo, hi] =
          ExpectedRange(o["fused_activation"], out["scale"][0].get<float>(), out["zero_point"][0]);
      EXPECT_EQ(n.act_min, lo) << where;
      EXPECT_EQ(n.act_max, hi) << where;
    }
    if (name == "CONV_2D" || name == "DEPTHWISE_CONV_2D" || name == "FULLY_CONNECTED") {
      const json& w = tensors[op["inputs"][1].get<size_t>()];
      const json& ws = w["shape"];
      const ir::Value& wv = g->value(n.inputs[1]);
      EXPECT_EQ(wv.source_tensor, w["index"].get<int>()) << where;
      CheckQuant(wv, w, where + " weights");
      std::vector<int64_t> want;
      if (name == "CONV_2D") want = {ws[0], ws[3], ws[1], ws[2]};
      if (name == "DEPTHWISE_CONV_2D") want = {ws[3], 1, ws[1], ws[2]};
      if (name == "FULLY_CONNECTED") want = {ws[0], x.shape[0], x.shape[1], x.shape[2]};
      EXPECT_EQ(wv.shape, want) << where;
      const json& b = tensors[op["inputs"][2].get<size_t>()];
      EXPECT_EQ(g->value(n.inputs[2]).source_tensor, b["index"].get<int>()) << where;
      EXPECT_EQ(g->value(n.inputs[2]).shape, (std::vector<int64_t>{wv.shape[0]})) << where;
    }
    if (name == "CONV_2D" || name == "DEPTHWISE_CONV_2D" || name == "AVERAGE_POOL_2D") {
      const ir::Window2d& w = n.window;
      EXPECT_EQ(w.sh, o["stride_h"].get<int>()) << where;
      EXPECT_EQ(w.sw, o["stride_w"].get<int>()) << where;
      int kh = w.kh, kw = w.kw;
      if (name == "AVERAGE_POOL_2D") {
        EXPECT_EQ(kh, o["filter_h"].get<int>()) << where;
        EXPECT_EQ(kw, o["filter_w"].get<int>()) << where;
      } else {
        EXPECT_EQ(w.dh, o["dilation_h"].get<int>()) << where;
        EXPECT_EQ(w.dw, o["dilation_w"].get<int>()) << where;
        const json& ws = tensors[op["inputs"][1].get<size_t>()]["shape"];
        EXPECT_EQ(kh, ws[1].get<int>()) << where;
        EXPECT_EQ(kw, ws[2].get<int>()) << where;
      }
      auto [t, b] = ExpectedPads(o["padding"], static_cast<int>(x.shape[1]), kh, w.sh);
      auto [l, r] = ExpectedPads(o["padding"], static_cast<int>(x.shape[2]), kw, w.sw);
      EXPECT_EQ(std::vector<int>({w.pad_t, w.pad_b, w.pad_l, w.pad_r}),
                std::vector<int>({t, b, l, r}))
          << where;
    }
    if (name == "DEPTHWISE_CONV_2D") {
      EXPECT_EQ(n.depth_multiplier, o["depth_multiplier"].get<int>()) << where;
    }
    if (name == "ADD") {
      const json& in2 = tensors[op["inputs"][1].get<size_t>()];
      EXPECT_EQ(g->value(n.inputs[1]).source_tensor, in2["index"].get<int>()) << where;
      CheckQuant(g->value(n.inputs[1]), in2, where + " second input");
    }
  }
}

TEST(TfliteImport, EveryModelAgreesWithTheGoldensOpsJson) {
  for (const char* model : kModels) {
    TTE_REQUIRE_SHARED("tflite/golden/" + std::string(model));
    for (const auto& dir : std::filesystem::directory_iterator(
             testing::SharedPath("tflite/golden/" + std::string(model)))) {
      CheckModelAgainstOpsJson(model, dir.path().filename().string());
    }
  }
}

// ImportModel (the dispatcher of import/model_file.h) as a graph.
Result<ir::Graph> ImportGraph(const std::string& path, int resolution = 0) {
  TTE_ASSIGN_OR_RETURN(ImportedModel m, ImportModel(path, resolution));
  return std::move(m.graph);
}

TEST(TfliteImport, InputSpecsFollowTheInputTensor) {
  TTE_REQUIRE_SHARED("tflite/models/vww_96_int8.tflite");
  auto vww = ImportGraph(testing::SharedPath("tflite/models/vww_96_int8.tflite"));
  ASSERT_TRUE(vww.ok()) << vww.status().ToString();
  EXPECT_EQ(vww->requant, ir::Requant::kTfliteInteger);
  EXPECT_EQ(vww->format, "tflite");
  const ir::InputSpec& s = vww->input_spec;
  EXPECT_EQ(std::vector<int>({s.c, s.h, s.w}), std::vector<int>({3, 96, 96}));
  EXPECT_EQ(s.pixels, ir::PixelRule::kScaleZero);
  EXPECT_EQ(s.zero, -128);
  EXPECT_EQ(s.scale, static_cast<double>(0.003921568859368563f));
  EXPECT_TRUE(s.source_nhwc);
  // ResNet-8's input has scale 1: raw 0..255 pixels, the MLPerf Tiny q = p - 128 convention.
  auto resnet = ImportGraph(testing::SharedPath("tflite/models/pretrainedResnet_quant.tflite"));
  ASSERT_TRUE(resnet.ok()) << resnet.status().ToString();
  EXPECT_EQ(resnet->input_spec.pixels, ir::PixelRule::kMinus128);
  auto kws = ImportGraph(testing::SharedPath("tflite/models/kws_ref_model.tflite"));
  ASSERT_TRUE(kws.ok());
  EXPECT_EQ(std::vector<int>({kws->input_spec.c, kws->input_spec.h, kws->input_spec.w}),
            std::vector<int>({1, 49, 10}));
  auto ad = ImportGraph(testing::SharedPath("tflite/models/ad01_int8.tflite"));
  ASSERT_TRUE(ad.ok());
  EXPECT_EQ(std::vector<int>({ad->input_spec.c, ad->input_spec.h, ad->input_spec.w}),
            std::vector<int>({640, 1, 1}));
}

TEST(TfliteImport, ImportModelTellsTfliteByItsIdentifier) {
  // Under any name: the dispatcher reads the TFL3 identifier, not the extension.
  const std::string path = testing::TempDir("tflite_dispatch") + "/model.bin";
  ASSERT_TRUE(WriteFileAtomic(path, testing::TinyModel().Bytes()).ok());
  auto g = ImportGraph(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->format, "tflite");
  EXPECT_EQ(g->source, path);
  auto resized = ImportGraph(path, 64);
  ASSERT_FALSE(resized.ok());
  EXPECT_EQ(resized.status().message(),
            path + ": a TFLite model has fixed shapes: another input resolution does not apply");
  auto pkl = ImportGraph(testing::SourcePath("models/default-backbone.pkl"));
  ASSERT_TRUE(pkl.ok()) << pkl.status().ToString();
  EXPECT_EQ(pkl->format, "pkl");
}

TEST(TfliteImport, TinyModelGraph) {
  auto g = tflite::ImportModelFile(testing::TinyModel().Parsed());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const std::vector<ir::OpKind> kinds = {ir::OpKind::kConv2d,  ir::OpKind::kDepthwiseConv2d,
                                         ir::OpKind::kAdd,     ir::OpKind::kAvgPool2d,
                                         ir::OpKind::kReshape, ir::OpKind::kFullyConnected,
                                         ir::OpKind::kSoftmax};
  ASSERT_EQ(g->nodes.size(), kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(g->nodes[i].op, kinds[i]) << i;
  EXPECT_EQ(g->nodes[0].name, "op 0 CONV_2D (conv/out)");
  // 8x8 input, 3x3 kernel, stride 2, SAME: 4 outputs, total padding 1: the odd pixel at the
  // bottom/right.
  const ir::Window2d& w = g->nodes[0].window;
  EXPECT_EQ(std::vector<int>({w.pad_t, w.pad_b, w.pad_l, w.pad_r}), std::vector<int>({0, 1, 0, 1}));
  // RELU6 on scale 0.05, zero -128: [max(-128, -128), min(127, -128 + 120)].
  EXPECT_EQ(g->nodes[0].act_min, -128);
  EXPECT_EQ(g->nodes[0].act_max, -8);
  EXPECT_TRUE(g->nodes[4].reshape_hwc);
  EXPECT_EQ(g->value(g->output).shape, (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(g->value(g->nodes[5].inputs[1]).quant.scale.size(),
            1u);  // per-tensor FC weights stay so
  EXPECT_EQ(g->input_spec.pixels, ir::PixelRule::kScaleZero);
  EXPECT_EQ(g->value(g->nodes[1].inputs[0]).source_tensor, 3);
}

// Weight of the tte graph at [o][i][h][w] of a 4-D value.
int8_t At(const ir::Value& v, int64_t o, int64_t i, int64_t h, int64_t w) {
  const auto& s = v.shape;
  return v.as<int8_t>()[((o * s[1] + i) * s[2] + h) * s[3] + w];
}

TEST(TfliteImport, WeightsLandWhereTtesLayoutPutsThem) {
  testing::ModelBuilder b = testing::FeatureModel();
  auto g = tflite::ImportModelFile(b.Parsed());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // Depthwise: TFLite [1, kh, kw, C*m] index (h*kw + w)*O + o -> [o][0][h][w]; multiplier 2,
  // dilation 2.
  const ir::Node& dw = g->nodes[1];
  EXPECT_EQ(dw.op, ir::OpKind::kDepthwiseConv2d);
  EXPECT_EQ(dw.depth_multiplier, 2);
  EXPECT_EQ(dw.groups, 2);
  EXPECT_EQ(std::vector<int>({dw.window.dh, dw.window.dw}), std::vector<int>({2, 2}));
  // SAME, 3 taps at dilation 2 (span 5), stride 1: total padding 4 on each axis.
  EXPECT_EQ(std::vector<int>({dw.window.pad_t, dw.window.pad_b, dw.window.pad_l, dw.window.pad_r}),
            std::vector<int>({2, 2, 2, 2}));
  const ir::Value& dww = g->value(dw.inputs[1]);
  for (int o = 0; o < 4; ++o)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 3; ++w)
        EXPECT_EQ(At(dww, o, 0, h, w), testing::PatternValue((h * 3 + w) * 4 + o));
  EXPECT_EQ(dww.quant.scale.size(), 4u);
  // Grouped conv: OHWI [6,3,3,2] index ((o*3 + h)*3 + w)*2 + i -> [o][i][h][w]; 2 groups.
  const ir::Node& conv = g->nodes[2];
  EXPECT_EQ(conv.groups, 2);
  const ir::Value& cw = g->value(conv.inputs[1]);
  ASSERT_EQ(cw.shape, (std::vector<int64_t>{6, 2, 3, 3}));
  for (int o = 0; o < 6; ++o)
    for (int i = 0; i < 2; ++i)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 3; ++w)
          EXPECT_EQ(At(cw, o, i, h, w), testing::PatternValue(((o * 3 + h) * 3 + w) * 2 + i));
  // Fully connected over the [1,4,3,6] NHWC tensor: column (h*3 + w)*6 + c -> [o][c][h][w].
  const ir::Value& fw = g->value(g->nodes[3].inputs[1]);
  ASSERT_EQ(fw.shape, (std::vector<int64_t>{5, 6, 4, 3}));
  for (int o = 0; o < 5; ++o)
    for (int c = 0; c < 6; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 3; ++w)
          EXPECT_EQ(At(fw, o, c, h, w), testing::PatternValue(o * 72 + (h * 3 + w) * 6 + c));
  // Pad: H 1,1 and W 0,1 of NHWC become pad_h / pad_w.
  const ir::Node& pad = g->nodes[0];
  EXPECT_EQ(std::vector<int>({pad.pad_c[0], pad.pad_c[1], pad.pad_h[0], pad.pad_h[1], pad.pad_w[0],
                              pad.pad_w[1]}),
            std::vector<int>({0, 0, 1, 1, 0, 1}));
}

TEST(TfliteImport, HeadModelMeanSqueezeAndMissingBias) {
  auto g = tflite::ImportModelFile(testing::HeadModel().Parsed());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->nodes[1].op, ir::OpKind::kMean);
  EXPECT_EQ(g->nodes[2].op, ir::OpKind::kReshape);  // SQUEEZE
  EXPECT_EQ(g->nodes[2].name, "op 2 SQUEEZE (squeeze/out)");
  // The conv has no bias in the file: zeros of the right size.
  const ir::Value& bias = g->value(g->nodes[0].inputs[2]);
  EXPECT_EQ(bias.shape, (std::vector<int64_t>{6}));
  EXPECT_EQ(bias.source_tensor, -1);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(bias.as<int32_t>()[i], 0);
  // RELU_N1_TO_1 on scale 0.01, zero 2: [2 - 100, 2 + 100].
  EXPECT_EQ(g->nodes[0].act_min, -98);
  EXPECT_EQ(g->nodes[0].act_max, 102);
  // keep_num_dims over a vector: [3,1,1].
  EXPECT_EQ(g->value(g->output).shape, (std::vector<int64_t>{3, 1, 1}));
}

TEST(TfliteArithmetic, SamePaddingPutsTheOddPixelBottomRight) {
  auto p = tflite::ComputePadding(Padding::kSame, 96, 3, 2, 1);  // VWW's first conv
  EXPECT_EQ(p.out, 48);
  EXPECT_EQ(p.before, 0);
  EXPECT_EQ(p.after, 1);
  p = tflite::ComputePadding(Padding::kSame, 49, 10, 2, 1);  // KWS: 10 taps over 49 rows, stride 2
  EXPECT_EQ(p.out, 25);
  EXPECT_EQ(p.before, 4);
  EXPECT_EQ(p.after, 5);
  p = tflite::ComputePadding(Padding::kSame, 10, 4, 2, 1);
  EXPECT_EQ(p.out, 5);
  EXPECT_EQ(p.before, 1);
  EXPECT_EQ(p.after, 1);
  p = tflite::ComputePadding(Padding::kSame, 5, 1, 2, 1);  // total would be negative: no padding
  EXPECT_EQ(p.out, 3);
  EXPECT_EQ(p.before + p.after, 0);
  p = tflite::ComputePadding(Padding::kValid, 25, 25, 25, 1);
  EXPECT_EQ(p.out, 1);
  p = tflite::ComputePadding(Padding::kValid, 7, 3, 2, 2);  // span 5: (7 - 5) / 2 + 1
  EXPECT_EQ(p.out, 2);
  p = tflite::ComputePadding(Padding::kValid, 4, 5, 1, 1);
  EXPECT_EQ(p.out, 0);
}

TEST(TfliteArithmetic, ActivationRangesAsTfliteComputesThem) {
  int lo = 0, hi = 0;
  ASSERT_TRUE(tflite::ActivationRange(Activation::kRelu6, 0.0235294f, -128, &lo, &hi));
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);  // 6 / 0.0235294 = 255.0006 -> 255 - 128
  ASSERT_TRUE(tflite::ActivationRange(Activation::kRelu6, 0.05f, -10, &lo, &hi));
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 110);
  // Half away from zero: 6 / 12 = 0.5 -> 1 and -1 / 2 = -0.5 -> -1 (half to even: 0 and 0).
  ASSERT_TRUE(tflite::ActivationRange(Activation::kRelu6, 12.0f, 0, &lo, &hi));
  EXPECT_EQ(hi, 1);
  ASSERT_TRUE(tflite::ActivationRange(Activation::kReluN1To1, 2.0f, 0, &lo, &hi));
  EXPECT_EQ(std::make_pair(lo, hi), std::make_pair(-1, 1));
  ASSERT_TRUE(tflite::ActivationRange(Activation::kRelu, 0.1f, 20, &lo, &hi));
  EXPECT_EQ(lo, 20);
  EXPECT_EQ(hi, 127);
  ASSERT_TRUE(tflite::ActivationRange(Activation::kRelu, 0.1f, -200, &lo, &hi));  // Q(0) below int8
  EXPECT_EQ(lo, -128);
  ASSERT_TRUE(tflite::ActivationRange(Activation::kNone, 1e-9f, 0, &lo, &hi));
  EXPECT_EQ(std::make_pair(lo, hi), std::make_pair(-128, 127));
  EXPECT_FALSE(tflite::ActivationRange(Activation::kTanh, 0.1f, 0, &lo, &hi));
  EXPECT_FALSE(
      tflite::ActivationRange(Activation::kRelu6, 1e-30f, 0, &lo, &hi));  // overflows int32
  // round(-1 / scale) = -2^31 fits int32; plus a negative zero point it does not (and must not
  // overflow while finding out).
  EXPECT_FALSE(tflite::ActivationRange(Activation::kReluN1To1, 0x1p-31f, -1, &lo, &hi));
}

}  // namespace
}  // namespace tte
