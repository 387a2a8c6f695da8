// The .tflite reader and writer: the MLPerf Tiny models and our own models parse, round-trip
// through the writer (parse(write(parse(f))) == parse(f)), buffers are replaced in place without
// touching another byte, models are rebuilt with new sizes and metadata, the >2 GB buffer form
// reads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/file_io.h"
#include "import/tflite/importer.h"
#include "import/tflite/model_file.h"
#include "import/tflite/writer.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

using tflite::ModelFile;

const char* const kModels[] = {"vww_96_int8", "pretrainedResnet_quant", "kws_ref_model",
                               "ad01_int8"};

std::string ModelPath(const std::string& name) { return "tflite/models/" + name + ".tflite"; }

ModelFile ReadShared(const std::string& name) {
  auto m = tflite::ReadModelFile(testing::SharedPath(ModelPath(name)));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : ModelFile{};
}

TEST(TfliteFile, MlperfTinyModelsParse) {
  for (const char* name : kModels) {
    TTE_REQUIRE_SHARED(ModelPath(name));
    ModelFile m = ReadShared(name);
    EXPECT_EQ(m.version, 3u) << name;
    ASSERT_EQ(m.subgraphs.size(), 1u) << name;
    EXPECT_EQ(m.subgraphs[0].inputs.size(), 1u) << name;
    EXPECT_TRUE(m.BufferData(0).empty()) << name;
    int64_t constant_bytes = 0;
    for (const auto& t : m.subgraphs[0].tensors)
      constant_bytes += static_cast<int64_t>(m.BufferData(t.buffer).size());
    EXPECT_GT(constant_bytes, static_cast<int64_t>(m.bytes.size()) / 3)
        << name << ": weights are much of the file";
  }
}

TEST(TfliteFile, ParseWriteParseIsTheSameModel) {
  for (const char* name : kModels) {
    TTE_REQUIRE_SHARED(ModelPath(name));
    ModelFile m = ReadShared(name);
    auto bytes = tflite::WriteModelFile(m);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto back = tflite::ParseModelFile(*bytes, "rewritten.tflite");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(tflite::FirstDifference(m, *back), "") << name;
    // The writer is deterministic: the rewritten model writes to the same bytes.
    auto again = tflite::WriteModelFile(*back);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *bytes) << name;
    // And the rewritten file imports to the same graph.
    auto g1 = tflite::ImportModelFile(m);
    auto g2 = tflite::ImportModelFile(*back);
    ASSERT_TRUE(g1.ok() && g2.ok());
    g2->source = g1->source;
    EXPECT_EQ(ir::ToText(*g1), ir::ToText(*g2)) << name;
  }
}

TEST(TfliteFile, FirstDifferenceFindsAChange) {
  ModelFile a = testing::TinyModel().Parsed();
  ModelFile b = a;
  EXPECT_EQ(tflite::FirstDifference(a, b), "");
  b.subgraphs[0].tensors[3].shape[1] = 9;
  EXPECT_NE(tflite::FirstDifference(a, b).find("subgraph 0 tensor 3 shape"), std::string::npos);
  b = a;
  auto data = std::vector<uint8_t>(a.BufferData(2).begin(), a.BufferData(2).end());
  data[5] ^= 1;
  b.SetBufferData(2, data);
  EXPECT_EQ(tflite::FirstDifference(a, b), "buffer 2 data");
  b = a;
  b.subgraphs[0].tensors[0].quantization.scale[0] = 0.5f;
  EXPECT_EQ(tflite::FirstDifference(a, b), "subgraph 0 tensor 0 quantization");
  b = a;
  std::get<tflite::Conv2dOptions>(b.subgraphs[0].operators[0].options).stride_w = 1;
  EXPECT_EQ(tflite::FirstDifference(a, b), "subgraph 0 op 0 options");
}

TEST(TfliteFile, OurModelsAreSmallAndRoundTrip) {
  for (auto builder : {testing::TinyModel(), testing::FeatureModel(), testing::HeadModel()}) {
    std::vector<uint8_t> bytes = builder.Bytes();
    EXPECT_LT(bytes.size(), 8192u) << builder.model().label;
    ModelFile m = builder.Parsed();
    EXPECT_EQ(tflite::FirstDifference(m, builder.model()), "") << builder.model().label;
    auto again = tflite::WriteModelFile(m);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, bytes);
  }
}

TEST(TfliteFile, BuffersOutsideTheFlatbufferReadBack) {
  ModelFile m = testing::TinyModel().Parsed();
  tflite::WriteOptions opts;
  opts.buffers_outside = true;
  auto bytes = tflite::WriteModelFile(m, opts);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto back = tflite::ParseModelFile(*bytes, "outside.tflite");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  int outside = 0;
  for (const auto& b : back->buffers) outside += b.outside;
  EXPECT_EQ(outside, static_cast<int>(m.buffers.size()) - 1);  // all but the empty sentinel
  EXPECT_EQ(tflite::FirstDifference(m, *back), "");
  // Data after the flatbuffer is found by offset: the same graph.
  auto g1 = tflite::ImportModelFile(m);
  auto g2 = tflite::ImportModelFile(*back);
  ASSERT_TRUE(g1.ok() && g2.ok());
  g2->source = g1->source;
  EXPECT_EQ(ir::ToText(*g1), ir::ToText(*g2));
}

TEST(TfliteFile, ReplaceBuffersTouchesOnlyThoseBytes) {
  std::vector<ModelFile> models;
  models.push_back(testing::TinyModel().Parsed());
  for (const char* name : kModels)
    if (!testing::SharedPath(ModelPath(name)).empty()) models.push_back(ReadShared(name));
  for (const ModelFile& m : models) {
    // Every int8 weight buffer of a FULLY_CONNECTED op, negated.
    std::vector<tflite::BufferReplacement> rep;
    for (const auto& op : m.subgraphs[0].operators) {
      if (m.operator_codes[op.opcode_index].builtin_code != tflite::kFullyConnected) continue;
      uint32_t buf = m.subgraphs[0].tensors[static_cast<size_t>(op.inputs[1])].buffer;
      std::vector<uint8_t> d(m.BufferData(buf).begin(), m.BufferData(buf).end());
      for (uint8_t& v : d) v = static_cast<uint8_t>(-static_cast<int8_t>(v) - 1);
      rep.push_back({buf, d});
    }
    ASSERT_FALSE(rep.empty());
    auto out = tflite::ReplaceBuffers(m, rep);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->size(), m.bytes.size());
    size_t changed = 0, in_replaced = 0;
    for (size_t i = 0; i < out->size(); ++i) {
      if ((*out)[i] == m.bytes[i]) continue;
      ++changed;
      for (const auto& r : rep) {
        const auto& b = m.buffers[r.buffer];
        if (i >= b.offset && i < b.offset + b.size) {
          ++in_replaced;
          break;
        }
      }
    }
    EXPECT_GT(changed, 0u);
    EXPECT_EQ(changed, in_replaced) << m.label << ": a byte outside the replaced buffers changed";
    auto back = tflite::ParseModelFile(*out, "replaced.tflite");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    for (const auto& r : rep) {
      auto d = back->BufferData(r.buffer);
      EXPECT_TRUE(std::equal(d.begin(), d.end(), r.data.begin(), r.data.end()));
    }
  }
}

TEST(TfliteFile, ReplaceBuffersRefusesASizeChange) {
  ModelFile m = testing::TinyModel().Parsed();
  auto out = tflite::ReplaceBuffers(m, {{1, std::vector<uint8_t>(3)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("tiny.tflite: buffer 1 holds 216 bytes, the replacement 3"),
            std::string::npos)
      << out.status().message();
  EXPECT_FALSE(tflite::ReplaceBuffers(m, {{99, {}}}).ok());
}

// The head of a trained model gets a new class count: weights, bias and both outputs change size.
TEST(TfliteFile, RebuildWithANewClassCountImports) {
  ModelFile m = testing::TinyModel().Parsed();
  tflite::SubGraph& g = m.subgraphs[0];
  const tflite::Operator& fc = g.operators[5];
  ASSERT_EQ(m.operator_codes[fc.opcode_index].builtin_code, tflite::kFullyConnected);
  tflite::Tensor& w = g.tensors[static_cast<size_t>(fc.inputs[1])];
  tflite::Tensor& b = g.tensors[static_cast<size_t>(fc.inputs[2])];
  w.shape = {6, 32};
  m.SetBufferData(w.buffer, std::vector<uint8_t>(6 * 32, 1));
  b.shape = {6};
  m.SetBufferData(b.buffer, std::vector<uint8_t>(6 * 4, 0));
  g.tensors[static_cast<size_t>(fc.outputs[0])].shape = {1, 6};
  g.tensors[static_cast<size_t>(g.outputs[0])].shape = {1, 6};
  std::string names = "a\nb\nc\nd\ne\nf\n";
  m.AddMetadata("class_names", std::vector<uint8_t>(names.begin(), names.end()));
  auto bytes = tflite::WriteModelFile(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto back = tflite::ParseModelFile(*bytes, "six.tflite");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(tflite::FirstDifference(m, *back), "");
  ASSERT_EQ(back->metadata.size(), 1u);
  EXPECT_EQ(back->metadata[0].name, "class_names");
  auto d = back->BufferData(back->metadata[0].buffer);
  EXPECT_EQ(std::string(d.begin(), d.end()), names);
  auto graph = tflite::ImportModelFile(*back);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->value(graph->output).shape, (std::vector<int64_t>{6, 1, 1}));
  // An inconsistent edit is refused before anything is written.
  m.SetBufferData(b.buffer, std::vector<uint8_t>(5 * 4, 0));
  auto bad = tflite::WriteModelFile(m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("holds 20 bytes, [6] x INT32 needs 24"), std::string::npos)
      << bad.status().message();
}

TEST(TfliteFile, OperatorCodesAbove127UseTheExtendedField) {
  testing::ModelBuilder b = testing::TinyModel();
  b.model().operator_codes.push_back({150, "", 2});  // GELU: above the old byte field's range
  b.model().operator_codes.push_back({tflite::kCustom, "MyOp", 1});
  ModelFile m = b.Parsed();
  EXPECT_EQ(m.operator_codes[m.operator_codes.size() - 2].builtin_code, 150);
  EXPECT_EQ(m.operator_codes[m.operator_codes.size() - 2].version, 2);
  EXPECT_EQ(m.operator_codes.back().custom_code, "MyOp");
  EXPECT_STREQ(tflite::BuiltinOperatorName(150), "GELU");
  EXPECT_STREQ(tflite::BuiltinOperatorName(117), "HARD_SWISH");
  EXPECT_STREQ(tflite::BuiltinOperatorName(9999), "unknown operator");
}

TEST(TfliteFile, WriterRefusesWhatTheReaderDidNotKeep) {
  ModelFile m = testing::TinyModel().Parsed();
  m.subgraphs[0].tensors[1].sparse = true;
  auto out = tflite::WriteModelFile(m);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(
      out.status().message(),
      "tiny.tflite: subgraph 0 tensor 1 'conv/w' has sparsity parameters, which the reader does "
      "not keep: the file cannot be rewritten");
  m = testing::TinyModel().Parsed();
  m.subgraphs[0].operators[1].options = std::monostate{};
  m.subgraphs[0].operators[1].options_type = 10;  // ConcatenationOptions
  out = tflite::WriteModelFile(m);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(
      out.status().message().find("op 1 DEPTHWISE_CONV_2D has builtin options (union type 10)"),
      std::string::npos)
      << out.status().message();
}

// Found by the fuzzer: the builder leaves out fields equal to their default, and -0.0 == 0.0.
TEST(TfliteFile, NegativeZeroSoftmaxBetaRoundTrips) {
  ModelFile m = testing::TinyModel().Parsed();
  std::get<tflite::SoftmaxOptions>(m.subgraphs[0].operators[6].options).beta = -0.0f;
  auto bytes = tflite::WriteModelFile(m);
  ASSERT_TRUE(bytes.ok());
  auto back = tflite::ParseModelFile(*bytes, "negzero.tflite");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(tflite::FirstDifference(m, *back), "");
  EXPECT_TRUE(
      std::signbit(std::get<tflite::SoftmaxOptions>(back->subgraphs[0].operators[6].options).beta));
}

TEST(TfliteFile, ReadModelFileNamesAMissingFile) {
  auto m = tflite::ReadModelFile("/nonexistent/x.tflite");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/x.tflite"), std::string::npos);
}

}  // namespace
}  // namespace tte
