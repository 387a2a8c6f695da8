// End-to-end tests of the tte tool, run as a user would: every subcommand's main path, the
// reference-exact results through the CLI, a held-out model, and bad input (clear message naming the file
// and field, non-zero exit, no partial output).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/idx.h"
#include "support/test_support.h"

namespace tte {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::SharedPath;
using testing::TteBinary;

std::string Tte(const std::string& args) { return TteBinary() + " " + args; }
std::string Q(const std::string& p) { return "'" + p + "'"; }

// A minimal PNG writer (8-bit greyscale), so tests need no image library.
void WritePng(const std::string& path, int w, int h, const uint8_t* px) {
  auto be32 = [](std::vector<uint8_t>& o, uint32_t v) {
    for (int i = 3; i >= 0; --i) o.push_back((v >> (8 * i)) & 0xff);
  };
  auto chunk = [&](std::vector<uint8_t>& o, const char* type, const std::vector<uint8_t>& data) {
    be32(o, static_cast<uint32_t>(data.size()));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    o.insert(o.end(), td.begin(), td.end());
    be32(o, static_cast<uint32_t>(crc32(0, td.data(), static_cast<uInt>(td.size()))));
  };
  std::vector<uint8_t> raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), px + y * w, px + (y + 1) * w);
  }
  uLongf n = compressBound(raw.size());
  std::vector<uint8_t> z(n);
  compress(z.data(), &n, raw.data(), raw.size());
  z.resize(n);
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  be32(ihdr, w);
  be32(ihdr, h);
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", {});
  ASSERT_TRUE(WriteFileAtomic(path, out).ok());
}

TEST(CliInfo, LayerTableAndJson) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto r = RunCommand(Tte("info " + Q(SharedPath("models/mcunet-5fps.pkl"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("42 convs in 14 blocks (7 residual adds)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("blocks.13.pointwise2"), std::string::npos);
  auto j = RunCommand(Tte("info --json " + Q(SharedPath("models/mcunet-5fps.pkl"))));
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_NE(j.output.find("\"params\": 630224"), std::string::npos) << j.output.substr(0, 400);
}

// The Fashion-MNIST test image #0 as a PNG goes through tte's own preprocessing (Pillow-exact bilinear
// resize) and must give exactly the reference's logits for it.
TEST(CliInfer, PngImageGivesTheReferenceLogits) {
  TTE_REQUIRE_SHARED("golden/mcunet-5fps__fmnist0__logits.npy");
  auto images = ReadIdxImages("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  if (!images.ok()) GTEST_SKIP() << "SKIPPED: Fashion-MNIST not installed (" << images.status().message() << ")";
  std::string dir = testing::TempDir("cli_infer_png");
  WritePng(dir + "/fmnist0.png", 28, 28, images->pixels.data());
  auto r = RunCommand(Tte("infer --model " + Q(SharedPath("models/mcunet-5fps.pkl")) + " --input " + dir + "/fmnist0.png --output " +
                          dir + "/y.npy --dump " + dir + "/stages"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto got = ReadNpy(dir + "/y.npy");
  auto want = ReadNpy(SharedPath("golden/mcunet-5fps__fmnist0__logits.npy"));
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(got->shape, (std::vector<int64_t>{1, 1000}));
  EXPECT_EQ(got->bytes, want->bytes);
  auto acts = ReadNpz(SharedPath("golden/mcunet-5fps__fmnist0__acts.npz"));
  auto b07 = ReadNpy(dir + "/stages/block_07.npy");
  ASSERT_TRUE(acts.ok() && b07.ok());
  EXPECT_EQ(b07->bytes, (*acts)["block_07"].bytes);
}

TEST(CliInfer, WrongInputIsRefusedWithoutOutput) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  std::string dir = testing::TempDir("cli_infer_bad");
  Tensor f(DType::kFloat32, {1, 3, 128, 128});
  ASSERT_TRUE(WriteNpy(dir + "/f.npy", f).ok());
  auto r = RunCommand(Tte("infer --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --input " + dir + "/f.npy --output " + dir +
                          "/y.npy"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("f.npy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("float32"), std::string::npos) << r.output;
  EXPECT_FALSE(FileExists(dir + "/y.npy"));
  Tensor small(DType::kInt8, {1, 3, 64, 64});
  ASSERT_TRUE(WriteNpy(dir + "/s.npy", small).ok());
  r = RunCommand(Tte("infer --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --input " + dir + "/s.npy --output " + dir + "/y.npy"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("128"), std::string::npos) << r.output;
  r = RunCommand(Tte("infer --model " + dir + "/nope.pkl --input " + dir + "/s.npy --output " + dir + "/y.npy"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nope.pkl"), std::string::npos) << r.output;
  EXPECT_FALSE(FileExists(dir + "/y.npy"));
}

TEST(CliInfer, CorruptModelNamesTheFile) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  std::string dir = testing::TempDir("cli_corrupt");
  auto bytes = ReadFile(SharedPath("models/mbv2-w0.35.pkl"));
  ASSERT_TRUE(bytes.ok());
  bytes->resize(bytes->size() / 2);
  ASSERT_TRUE(WriteFileAtomic(dir + "/half.pkl", *bytes).ok());
  auto r = RunCommand(Tte("info " + dir + "/half.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("half.pkl"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Segmentation"), std::string::npos);
}

TEST(CliGrad, WritesEveryGradientAndTheLoss) {
  TTE_REQUIRE_SHARED("golden_grad/mbv2-w0.35__fmnist0__grad.npz");
  std::string dir = testing::TempDir("cli_grad");
  auto r = RunCommand(Tte("grad --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --scheme " +
                          Q(SharedPath("reference/schemes.json")) + " --scheme-name 99kb --input " +
                          Q(SharedPath("golden/input_fmnist0_int8.npy")) + " --label 0 --head-weight " +
                          Q(SharedPath("golden_grad/mbv2-w0.35__head_weight.npy")) + " --head-bias " +
                          Q(SharedPath("golden_grad/mbv2-w0.35__head_bias.npy")) + " --output-dir " + dir + "/g"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto loss = ReadTextFile(dir + "/g/loss.txt");
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(std::stod(*loss), 2.626297, 1e-5);
  // 99kb: biases of the last 25 convs (26..50), weights of 27, 30, ..., 48.
  EXPECT_TRUE(FileExists(dir + "/g/conv26.bias.npy"));
  EXPECT_FALSE(FileExists(dir + "/g/conv25.bias.npy"));
  EXPECT_TRUE(FileExists(dir + "/g/conv45.weight.npy"));
  EXPECT_FALSE(FileExists(dir + "/g/conv46.weight.npy"));
  EXPECT_TRUE(FileExists(dir + "/g/head.weight.npy"));
  auto golden = ReadNpz(SharedPath("golden_grad/mbv2-w0.35__fmnist0__grad.npz"));
  auto b = ReadNpy(dir + "/g/conv40.bias.npy");
  ASSERT_TRUE(golden.ok() && b.ok());
  const Tensor& want = (*golden)["conv40.bias"];
  double mx = 0, err = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    mx = std::max(mx, std::fabs(static_cast<double>(want.data<float>()[i])));
    err = std::max(err, std::fabs(static_cast<double>(want.data<float>()[i]) - b->data<float>()[i]));
  }
  EXPECT_LE(err, 1e-4 * mx);
}

TEST(CliCompile, PrintsProgramWithPruning) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  auto r = RunCommand(Tte("compile --model " + Q(SharedPath("models/mcunet-5fps.pkl")) + " --scheme " +
                          Q(SharedPath("reference/schemes.json")) + " --scheme-name sparse_100kb --no-tensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("conv_weight_grad 6"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("conv 36 (b12.pw1): bias yes, weight 12/96"), std::string::npos);
  auto bad = RunCommand(Tte("compile --model " + Q(SharedPath("models/mcunet-5fps.pkl")) + " --scheme /nonexistent.json"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("nonexistent.json"), std::string::npos) << bad.output;
}

// proxyless-w0.3 is not among the models shipped here: built from its structure with random weights, it
// is a model tte has never seen (k=5/7 kernels, a 64>384|192|192>64 block), through every command.
TEST(CliHeldOut, ProxylessFromItsStructureRunsThroughEveryCommand) {
  TTE_REQUIRE_SHARED("models/mcu_models_structure.json");
  std::string dir = testing::TempDir("cli_heldout");
  auto mk = RunCommand("/usr/bin/python3 " + testing::SourcePath("tools/make_structure_pkl.py") + " proxyless-w0.3 " + dir +
                       "/proxyless.pkl --structure " + Q(SharedPath("models/mcu_models_structure.json")));
  ASSERT_EQ(mk.exit_code, 0) << mk.output;
  const std::string m = dir + "/proxyless.pkl";
  auto info = RunCommand(Tte("info " + m));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("60 convs in 20 blocks (13 residual adds)"), std::string::npos) << info.output;
  auto infer = RunCommand(Tte("infer --model " + m + " --input " + Q(SharedPath("golden/input_rand_int8.npy")) + " --output " + dir + "/y.npy"));
  ASSERT_EQ(infer.exit_code, 0) << infer.output;
  auto comp = RunCommand(Tte("compile --model " + m + " --scheme " + Q(SharedPath("reference/schemes.json")) +
                             " --scheme-name proxyless-w0.3/98kb --no-tensors"));
  ASSERT_EQ(comp.exit_code, 0) << comp.output;
  auto train = RunCommand(Tte("train --model " + m + " --scheme " + Q(SharedPath("reference/schemes.json")) +
                              " --scheme-name proxyless-w0.3/49kb --train-samples 8 --eval-samples 8 --epochs 1 --lr 0.001 --quiet --out " +
                              dir + "/trained.pkl"));
  if (train.output.find("Fashion-MNIST") != std::string::npos && train.exit_code != 0) GTEST_SKIP() << train.output;
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(FileExists(dir + "/trained.pkl"));
}

TEST(CliTrain, WritesModelMetricsAndPlotAndTheModelReloads) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  std::string dir = testing::TempDir("cli_train");
  auto r = RunCommand(Tte("train --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --scheme " +
                          Q(SharedPath("reference/schemes.json")) + " --scheme-name 49kb --classes 0-2 --train-samples 12 " +
                          "--eval-samples 6 --epochs 2 --lr 0.002 --quiet --out " + dir + "/m.pkl --metrics " + dir +
                          "/m.jsonl --plot " + dir + "/c.svg"));
  if (r.exit_code != 0 && r.output.find("dataset-fashion-mnist") != std::string::npos) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto jsonl = ReadTextFile(dir + "/m.jsonl");
  ASSERT_TRUE(jsonl.ok());
  EXPECT_EQ(std::count(jsonl->begin(), jsonl->end(), '\n'), 2);
  EXPECT_NE(jsonl->find("\"eval_top1\""), std::string::npos);
  auto svg = ReadTextFile(dir + "/c.svg");
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  auto ev = RunCommand(Tte("eval --model " + dir + "/m.pkl --classes 0-2 --max-samples 6"));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("fp32 head"), std::string::npos) << ev.output;
  auto inf = RunCommand(Tte("infer --model " + dir + "/m.pkl --input " + Q(SharedPath("golden/input_fmnist0_int8.npy")) +
                            " --output " + dir + "/y.npy"));
  ASSERT_EQ(inf.exit_code, 0) << inf.output;
  auto y = ReadNpy(dir + "/y.npy");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->shape, (std::vector<int64_t>{1, 3})) << "the trained model's int8 classifier has the new head's 3 classes";
  auto py = RunCommand("/usr/bin/python3 -c \"import zipfile,pickle,io; z=zipfile.ZipFile('" + dir +
                       "/m.pkl'); d=pickle.Unpickler(io.BytesIO(z.read('archive/data.pkl')),encoding='latin1').load(); "
                       "print(sorted(d), d['tte_head']['weight'].shape)\"");
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("(3, 112)"), std::string::npos) << py.output;
}

// Issue 4: the memory optimizations change where bytes live, never the trained model.
TEST(CliTrain, ReorderingInPlaceAndPatchesGiveByteIdenticalModels) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  std::string dir = testing::TempDir("cli_train_same");
  const std::string base = "train --model " + Q(SharedPath("models/mcunet-5fps.pkl")) + " --scheme " +
                           Q(SharedPath("reference/schemes.json")) + " --scheme-name 49kb --train-samples 6 --eval-samples 2 " +
                           "--epochs 1 --lr 0.01 --quiet --seed 3 ";
  std::vector<std::string> variants = {"", "--no-reorder", "--no-inplace", "--patches 3"};
  std::vector<std::vector<uint8_t>> models;
  for (size_t i = 0; i < variants.size(); ++i) {
    auto r = RunCommand(Tte(base + variants[i] + " --out " + dir + "/m" + std::to_string(i) + ".pkl"));
    if (r.exit_code != 0 && r.output.find("dataset-fashion-mnist") != std::string::npos) GTEST_SKIP() << r.output;
    ASSERT_EQ(r.exit_code, 0) << variants[i] << ": " << r.output;
    auto bytes = ReadFile(dir + "/m" + std::to_string(i) + ".pkl");
    ASSERT_TRUE(bytes.ok());
    models.push_back(*bytes);
  }
  for (size_t i = 1; i < models.size(); ++i) EXPECT_EQ(models[i], models[0]) << "'" << variants[i] << "' changed the trained model";
}

TEST(CliTrain, DivergenceAndBadOptionsAreClearErrors) {
  TTE_REQUIRE_SHARED("models/mbv2-w0.35.pkl");
  std::string dir = testing::TempDir("cli_train_bad");
  auto r = RunCommand(Tte("train --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --store bogus --out " + dir + "/m.pkl"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--store"), std::string::npos) << r.output;
  EXPECT_FALSE(FileExists(dir + "/m.pkl"));
  r = RunCommand(Tte("train --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --data folder:" + dir + "/missing --out " + dir +
                     "/m.pkl"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
  EXPECT_FALSE(FileExists(dir + "/m.pkl"));
  const std::string base = "train --model " + Q(SharedPath("models/mbv2-w0.35.pkl")) + " --train-samples 8 --out " + dir + "/m.pkl ";
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"--crop-scale 0", "scale"},
           {"--crop-scale 1.5", "scale"},
           {"--eval-split train --eval-skip 60000", "leaves none"},
           {"--eval-skip -3", "skip"},
           {"--data folder:" + dir + " --eval-split train", "--eval-split"},
           {"--eval-samples 2 --metrics " + dir + "/no/such/dir/m.jsonl", "no/such/dir"}}) {
    r = RunCommand(Tte(base + args));
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.output.find(says), std::string::npos) << args << ": " << r.output;
    EXPECT_FALSE(FileExists(dir + "/m.pkl")) << args;
  }
}

}  // namespace
}  // namespace tte
