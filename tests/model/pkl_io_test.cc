// Model import/export: the real .pkl files load with the right structure, round-trip byte-exactly
// through our writer, and every kind of corruption is refused with a message naming the field.
#include <gtest/gtest.h>

#include "core/file_io.h"
#include "core/zip.h"
#include "model/pickle.h"
#include "model/pkl_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

TEST(PklImport, McunetStructureMatchesThePaper) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = LoadModel(testing::SharedPath("models/mcunet-5fps.pkl"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->blocks.size(), 14u);
  EXPECT_EQ(m->NumConvs(), 42);
  EXPECT_EQ(m->resolution(), 128);
  EXPECT_EQ(m->feature_channels(), 160);
  EXPECT_EQ(m->num_classes(), 1000);
  int residuals = 0;
  int64_t weights = 0;
  for (const ConvLayer* c : m->Convs()) weights += c->WeightCount();
  for (const Block& b : m->blocks) residuals += b.residual.has_value();
  EXPECT_EQ(residuals, 7);
  EXPECT_EQ(weights, 463216);  // ALGORITHM.md section 1
  // Conv index convention: block b >= 1: pw1 = 3b, dw = 3b+1, pw2 = 3b+2.
  EXPECT_EQ(m->Convs()[21]->path, "blocks.7.pointwise1");
  EXPECT_EQ(m->Convs()[1]->path, "blocks.0.depthwise");
}

TEST(PklImport, EffectiveScaleIsComputedInDoubleThenRounded) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = LoadModel(testing::SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(m.ok());
  const ConvLayer& c = m->first_conv;
  double want = c.x_scale * static_cast<double>(c.w_scales[3]) / c.y_scale;
  EXPECT_EQ(c.eff[3], static_cast<float>(want));
}

TEST(PklExport, RoundTripIsByteIdenticalOnSecondWrite) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = LoadModel(testing::SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(m.ok());
  std::vector<uint8_t> a = SerializeModelFile(*m);
  auto back = ParseModelFile(a, "roundtrip");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SerializeModelFile(*back), a);
  EXPECT_EQ(back->first_conv.weight, m->first_conv.weight);
  EXPECT_EQ(back->blocks[5].pointwise2.bias, m->blocks[5].pointwise2.bias);
  EXPECT_EQ(back->classifier.x_scale, m->classifier.x_scale);
}

TEST(PklExport, PythonLoadsOurFileAndItEqualsTheOriginal) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto m = LoadModel(testing::SharedPath("models/mcunet-5fps.pkl"));
  ASSERT_TRUE(m.ok());
  std::string dir = testing::TempDir("pkl_python");
  std::string out = dir + "/exported.pkl";
  ASSERT_TRUE(SaveModel(*m, out).ok());
  std::string script = testing::SourcePath("tests/model/compare_pkl.py");
  auto r = testing::RunCommand("/usr/bin/python3 " + script + " " + testing::SharedPath("models/mcunet-5fps.pkl") +
                               " " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("equal"), std::string::npos) << r.output;
}

// ------------------------------------------------------------------------------ bad input

std::vector<uint8_t> ModelBytes() {
  auto b = ReadFile(testing::SharedPath("models/mbv2-w0.35.pkl"));
  return b.ok() ? *b : std::vector<uint8_t>{};
}

TEST(PklImport, TruncatedFileNamesTheProblem) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto bytes = ModelBytes();
  for (size_t keep : {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 30}) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + keep);
    auto m = ParseModelFile(cut, "cut.pkl");
    ASSERT_FALSE(m.ok()) << "kept " << keep;
    EXPECT_NE(m.status().message().find("cut.pkl"), std::string::npos) << m.status().message();
  }
}

TEST(PklImport, FlippedByteIsCaughtByCrc) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto bytes = ModelBytes();
  bytes[bytes.size() / 3] ^= 0x5a;
  auto m = ParseModelFile(bytes, "flip.pkl");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("CRC"), std::string::npos) << m.status().message();
}

std::vector<uint8_t> Wrap(const pickle::PyValue& root) {
  ZipWriter w;
  w.Add("archive/data.pkl", pickle::Dump(root));
  return w.Finish();
}

TEST(PklImport, UnexpectedGlobalIsRefusedByName) {
  // A pickle that calls os.system: must be refused before anything runs.
  std::vector<uint8_t> evil = {0x80, 2};
  std::string g = "cos\nsystem\n";
  evil.insert(evil.end(), g.begin(), g.end());
  std::string arg = "X\x04\x00\x00\x00" "echo";
  evil.insert(evil.end(), arg.begin(), arg.end());
  for (int b : {0x85, int{'R'}, int{'.'}}) evil.push_back(static_cast<uint8_t>(b));
  ZipWriter w;
  w.Add("archive/data.pkl", evil);
  auto m = ParseModelFile(w.Finish(), "evil.pkl");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("os.system"), std::string::npos) << m.status().message();
}

TEST(PklImport, ShapesThatDoNotChainNameTheField) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = LoadModel(testing::SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(m.ok());
  auto root = ModelToPickle(*m);
  // blocks[4].depthwise.in_channel := 7
  auto* blocks = const_cast<pickle::PyValue*>(root->Get("blocks"));
  auto* dw = const_cast<pickle::PyValue*>(blocks->items[4]->Get("depthwise"));
  for (auto& [k, v] : dw->dict)
    if (k->s == "in_channel") v = pickle::Int(7);
  auto r = ParseModelFile(Wrap(*root), "bad.pkl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("blocks.4.depthwise"), std::string::npos) << r.status().message();
}

TEST(PklImport, SqueezeExcitationIsUnsupportedWithAClearMessage) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = LoadModel(testing::SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(m.ok());
  auto root = ModelToPickle(*m);
  auto* blocks = const_cast<pickle::PyValue*>(root->Get("blocks"));
  for (auto& [k, v] : blocks->items[2]->dict)
    if (k->s == "se") v = pickle::Dict({{"reduce", pickle::Int(4)}});
  auto r = ParseModelFile(Wrap(*root), "se.pkl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("blocks[2].se"), std::string::npos) << r.status().message();
}

TEST(PklImport, WrongWeightDtypeIsRefused) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  auto m = LoadModel(testing::SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(m.ok());
  auto root = ModelToPickle(*m);
  auto* fc = const_cast<pickle::PyValue*>(root->Get("first_conv"));
  auto* params = const_cast<pickle::PyValue*>(fc->Get("params"));
  for (auto& [k, v] : params->dict)
    if (k->s == "weight") {
      Tensor t(DType::kFloat32, {16, 3, 3, 3});
      v = pickle::Array(t);
    }
  auto r = ParseModelFile(Wrap(*root), "dtype.pkl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("first_conv.params.weight: dtype float32"), std::string::npos)
      << r.status().message();
}

TEST(Pickle, ReferenceCycleIsRefused) {
  // ] q\x00 h\x00 a .   : a list appended to itself
  std::vector<uint8_t> p = {0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'};
  auto r = pickle::Load(p, "cycle");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cycle"), std::string::npos);
}

TEST(Pickle, ValuesRoundTrip) {
  using namespace pickle;
  auto v = Dict({{"a", Int(-5)},
                 {"big", Int(int64_t{1} << 40)},
                 {"f", Float(0.1)},
                 {"t", Tuple({Int(1), Int(300), Int(70000), Bool(true), None()})},
                 {"s", Str("h\xc3\xa9llo")}});
  auto back = Load(Dump(*v), "rt");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->Get("a")->i, -5);
  EXPECT_EQ((*back)->Get("big")->i, int64_t{1} << 40);
  EXPECT_EQ((*back)->Get("f")->f, 0.1);
  EXPECT_EQ((*back)->Get("t")->items[2]->i, 70000);
  EXPECT_EQ((*back)->Get("s")->s, "h\xc3\xa9llo");
}

}  // namespace
}  // namespace tte
