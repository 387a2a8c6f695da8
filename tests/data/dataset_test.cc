// Dataset tests: class lists, Fashion-MNIST (small fake IDX files, and the Debian package when it
// is installed), image folders and their errors, the .npy dataset, inference-input loading, and
// thread-safe loading.
#include "data/dataset.h"

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/image.h"
#include "support/test_support.h"

namespace tte {
namespace {
namespace fs = std::filesystem;

void Put32(std::vector<uint8_t>* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(uint8_t(v >> s));
}

void WriteGz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// A fake Fashion-MNIST test split: 12 images of 28x28, image i filled with value 10*i + (x+y)%7,
// labels 0..9, 0, 1.
std::string FakeFmnist(const std::string& name) {
  const std::string dir = testing::TempDir(name);
  std::vector<uint8_t> img, lbl;
  Put32(&img, 0x803);
  Put32(&img, 12);
  Put32(&img, 28);
  Put32(&img, 28);
  Put32(&lbl, 0x801);
  Put32(&lbl, 12);
  for (int i = 0; i < 12; ++i) {
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) img.push_back(uint8_t(10 * i + (x + y) % 7));
    lbl.push_back(uint8_t(i % 10));
  }
  WriteGz(dir + "/t10k-images-idx3-ubyte.gz", img);
  WriteGz(dir + "/t10k-labels-idx1-ubyte.gz", lbl);
  return dir;
}

// The spec of FakeFmnist's test split.
DatasetSpec FakeFmnistSpec(const std::string& name) {
  DatasetSpec spec;
  spec.kind = "fmnist";
  spec.path = FakeFmnist(name);
  spec.split = "test";
  return spec;
}

std::vector<int8_t> LoadOne(const Dataset& ds, size_t i, int r, const Augmenter* aug = nullptr,
                            uint64_t seed = 0) {
  std::vector<int8_t> out(size_t(3) * r * r);
  Status st = ds.Load(i, SampleFormat::Rgb(r), aug, seed, out.data());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(ClassList, ParsesRangesListsAndNames) {
  const auto& names = FashionMnistClassNames();
  EXPECT_EQ(*ParseClassList("0-4", names, "c"), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(*ParseClassList("5,6,7,8,9", names, "c"), (std::vector<int>{5, 6, 7, 8, 9}));
  EXPECT_EQ(*ParseClassList("9, 5", names, "c"), (std::vector<int>{9, 5}));
  EXPECT_EQ(*ParseClassList("0-1,7", names, "c"), (std::vector<int>{0, 1, 7}));
  EXPECT_EQ(*ParseClassList("Sandal,Bag,T-shirt/top", names, "c"), (std::vector<int>{5, 8, 0}));
  EXPECT_EQ(ParseClassList("", names, "c")->size(), 10u);
  for (const char* bad : {"3-1", "10", "0-10", "x", "1,1", "0-2,2", "1,,2", "-1", "Sandals"}) {
    auto r = ParseClassList(bad, names, "fmnist classes");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("fmnist classes: ", 0), 0u) << r.status().message();
  }
}

TEST(FashionMnist, SubsetRemapAndMaxSamples) {
  const std::string dir = FakeFmnist("fmnist_fake");
  FashionMnistOptions o;
  o.dir = dir;
  o.split = "test";
  auto all = OpenFashionMnist(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ((*all)->size(), 12u);
  EXPECT_EQ((*all)->num_classes(), 10);
  EXPECT_EQ((*all)->class_names()[9], "Ankle boot");

  o.classes = "9,1,0";
  auto sub = OpenFashionMnist(o);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  // File order: images 0 (class 0), 1 (1), 9 (9), 10 (0), 11 (1).
  ASSERT_EQ((*sub)->size(), 5u);
  EXPECT_EQ((*sub)->class_names(),
            (std::vector<std::string>{"Ankle boot", "Trouser", "T-shirt/top"}));
  const int want_labels[] = {2, 1, 0, 2, 1};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*sub)->label(i), want_labels[i]) << i;
  // Sample 2 is file image 9: pixels 90 + (x+y)%7; at r = 28 the eval resize is the identity.
  auto q = LoadOne(**sub, 2, 28);
  EXPECT_EQ(q[0], int8_t(90 - 128));
  EXPECT_EQ(q[28 * 28 + 1], int8_t(91 - 128));  // plane 1 = grey copy, x = 1
  EXPECT_EQ(q[2 * 28 * 28 + 28 * 3 + 5], int8_t(90 + 8 % 7 - 128));

  o.max_samples = 3;
  auto cut = OpenFashionMnist(o);
  ASSERT_TRUE(cut.ok());
  ASSERT_EQ((*cut)->size(), 3u);
  EXPECT_EQ((*cut)->label(2), 0);  // the first three matching samples: classes 0, 1, 9

  o.classes = "2-4";
  o.max_samples = -1;
  EXPECT_EQ((*OpenFashionMnist(o))->size(), 3u);
  o.split = "val";
  EXPECT_FALSE(OpenFashionMnist(o).ok());
  o.split = "train";  // not in the fake dir
  auto missing = OpenFashionMnist(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("train-images-idx3-ubyte.gz"), std::string::npos);
  EXPECT_NE(missing.status().message().find("dataset-fashion-mnist"), std::string::npos)
      << missing.status().message();
}

TEST(FashionMnist, LabelsImagesMismatchAndBadLabel) {
  const std::string dir = FakeFmnist("fmnist_bad");
  std::vector<uint8_t> lbl;
  Put32(&lbl, 0x801);
  Put32(&lbl, 11);
  for (int i = 0; i < 11; ++i) lbl.push_back(uint8_t(i % 10));
  WriteGz(dir + "/t10k-labels-idx1-ubyte.gz", lbl);
  FashionMnistOptions o;
  o.dir = dir;
  o.split = "test";
  auto r = OpenFashionMnist(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("11 labels but"), std::string::npos) << r.status().message();
  lbl.push_back(10);  // label 10 is no class
  lbl[7] = 12;
  WriteGz(dir + "/t10k-labels-idx1-ubyte.gz", lbl);
  r = OpenFashionMnist(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label[11] = 10"), std::string::npos) << r.status().message();
}

TEST(FashionMnist, DebianPackageTestSplit) {
  if (!FileExists(std::string(kFashionMnistDefaultDir) + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "SKIPPED: Debian's dataset-fashion-mnist is not installed";
  DatasetSpec spec;
  spec.kind = "fmnist";
  spec.split = "test";
  spec.classes = "0-4";
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->size(), 5000u);  // 1000 test images per class
  EXPECT_EQ((*ds)->num_classes(), 5);
  int count[5] = {};
  for (size_t i = 0; i < (*ds)->size(); ++i) ++count[(*ds)->label(i)];
  for (int c : count) EXPECT_EQ(c, 1000);
}

// The streamed loader (sample_store.h) gives the samples of the IDX files decoded whole, as tte read them
// before: the same images of the same classes in the same order, with and without augmentation; and
// raw (uncompressed) files give what their .gz give.
void ExpectSamplesOfWholeFile(const std::string& dir, const std::string& prefix, const DatasetSpec& spec,
                              const std::vector<int>& classes, size_t expected_size) {
  auto images = ReadIdxImages(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  auto labels = ReadIdxLabels(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  ASSERT_TRUE(images.ok() && labels.ok());
  std::vector<size_t> rows;  // the selection, as the whole-file loader made it
  std::vector<int> remapped;
  for (size_t i = 0; i < labels->size(); ++i)
    for (size_t k = 0; k < classes.size(); ++k)
      if ((*labels)[i] == classes[k]) {
        rows.push_back(i);
        remapped.push_back(static_cast<int>(k));
      }
  rows.erase(rows.begin(), rows.begin() + spec.skip);
  remapped.erase(remapped.begin(), remapped.begin() + spec.skip);
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ((*ds)->size(), expected_size);
  auto aug = Augmenter::Create(AugmentConfig());
  ASSERT_TRUE(aug.ok());
  const SampleFormat f = SampleFormat::Rgb(40);
  const size_t item = size_t(images->rows) * images->cols;
  std::vector<int8_t> want(f.bytes()), got(f.bytes());
  for (size_t i = 0; i < (*ds)->size(); ++i) {
    ASSERT_EQ((*ds)->label(i), remapped[i]) << i;
    Image img(images->cols, images->rows, 1);
    std::memcpy(img.pixels.data(), images->pixels.data() + rows[i] * item, item);
    const Augmenter* augmented = &*aug;
    for (const Augmenter* a : {static_cast<const Augmenter*>(nullptr), augmented}) {
      ASSERT_TRUE(TransformToInt8(img, f, a, SampleSeed(3, 1, i), EvalTransform::kResize, want.data()).ok());
      ASSERT_TRUE((*ds)->Load(i, f, a, SampleSeed(3, 1, i), got.data()).ok());
      ASSERT_TRUE(got == want) << "sample " << i << (a ? " augmented" : "");
    }
  }
}

TEST(FashionMnist, StreamedSamplesEqualTheWholeFile) {
  DatasetSpec spec = FakeFmnistSpec("fmnist_stream");
  spec.classes = "1,0";
  spec.skip = 1;
  ExpectSamplesOfWholeFile(spec.path, "t10k", spec, {1, 0}, 3);  // images 0, 1, 10, 11 minus the first
  // The same files uncompressed, in another directory: the same samples.
  const std::string raw = testing::TempDir("fmnist_stream_raw");
  for (const char* stem : {"/t10k-images-idx3-ubyte", "/t10k-labels-idx1-ubyte"}) {
    auto b = ReadMaybeGzip(spec.path + stem + ".gz");
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(WriteFileAtomic(raw + stem, *b).ok());
  }
  DatasetSpec raw_spec = spec;
  raw_spec.path = raw;
  auto a = OpenDataset(spec), b = OpenDataset(raw_spec);
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
  ASSERT_EQ((*a)->size(), (*b)->size());
  for (size_t i = 0; i < (*a)->size(); ++i) EXPECT_EQ(LoadOne(**a, i, 20), LoadOne(**b, i, 20)) << i;

  if (!FileExists(std::string(kFashionMnistDefaultDir) + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "SKIPPED (the Debian part): Debian's dataset-fashion-mnist is not installed";
  DatasetSpec debian;
  debian.kind = "fmnist";
  debian.split = "test";
  debian.classes = "9,5,0";
  debian.skip = 40;
  debian.max_samples = 200;
  ExpectSamplesOfWholeFile(kFashionMnistDefaultDir, "t10k", debian, {9, 5, 0}, 200);
}

void WritePng(const std::string& path, int w, int h, int comp, uint8_t base) {
  std::vector<uint8_t> px(size_t(w) * h * comp);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(base + i * 5);
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp), 0);
}

std::string MakeFolder(const std::string& name) {
  const std::string root = testing::TempDir(name);
  fs::create_directories(root + "/dog/sub");
  fs::create_directories(root + "/cat");
  WritePng(root + "/cat/b.png", 9, 7, 3, 10);
  WritePng(root + "/cat/a.PNG", 6, 6, 1, 20);  // grey, upper-case extension
  std::vector<uint8_t> rgba(8 * 5 * 4, 77);
  EXPECT_NE(stbi_write_bmp((root + "/dog/x.bmp").c_str(), 8, 5, 4, rgba.data()), 0);
  WritePng(root + "/dog/sub/y.png", 5, 5, 3, 30);
  EXPECT_TRUE(WriteFileAtomic(root + "/dog/notes.txt", std::string("not an image")).ok());
  return root;
}

TEST(ImageFolder, SortedClassesFilesAndLoad) {
  const std::string root = MakeFolder("folder_ok");
  DatasetSpec spec;
  spec.kind = "folder";
  spec.path = root;
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ((*ds)->size(), 4u);  // notes.txt ignored
  const int labels[] = {0, 0, 1, 1};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*ds)->label(i), labels[i]);
  // Sample 0 is cat/a.PNG (sorted before b.png): grey 6x6 resized to 12x12, copied to 3 planes.
  auto img = ReadImage(root + "/cat/a.PNG");
  ASSERT_TRUE(img.ok());
  std::vector<int8_t> want(3 * 12 * 12);
  ASSERT_TRUE(ImageToInt8Chw(*ResizeBilinear(*img, 12, 12), want.data()).ok());
  EXPECT_EQ(LoadOne(**ds, 0, 12), want);
  // dog/x.bmp has alpha: dropped, 77 everywhere.
  auto q = LoadOne(**ds, 2, 4);
  for (int8_t v : q) ASSERT_EQ(v, 77 - 128);

  spec.classes = "dog";
  auto dogs = OpenDataset(spec);
  ASSERT_TRUE(dogs.ok());
  EXPECT_EQ((*dogs)->size(), 2u);
  EXPECT_EQ((*dogs)->label(0), 0);
  spec.classes = "dog,cat";
  spec.max_samples = 3;
  auto both = OpenDataset(spec);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ((*both)->size(), 3u);
  EXPECT_EQ((*both)->label(0), 1);  // cat files come first (folder order), cat = label 1
  EXPECT_EQ((*both)->label(2), 0);
}

TEST(ImageFolder, Errors) {
  DatasetSpec spec;
  spec.kind = "folder";
  spec.path = testing::TempDir("folder_missing") + "/nope";
  auto r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nope: image folder root not found"), std::string::npos);

  spec.path = testing::TempDir("folder_noclass");
  r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no class directories"), std::string::npos);

  const std::string root = MakeFolder("folder_empty");
  fs::create_directories(root + "/emu");
  spec.path = root;
  r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(root + "/emu: class directory holds no image files"),
            std::string::npos)
      << r.status().message();
  spec.classes = "cat,dog";  // the empty class is not selected
  EXPECT_TRUE(OpenDataset(spec).ok());
  spec.classes = "cow";
  r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown class 'cow'"), std::string::npos);

  spec.classes = "";
  fs::remove(root + "/emu");
  ASSERT_TRUE(WriteFileAtomic(root + "/dog/broken.png", std::string("\x89PNG garbage")).ok());
  r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(root + "/dog/broken.png: not a decodable image"),
            std::string::npos)
      << r.status().message();
}

TEST(NpyDataset, LoadsSubsetsAndResizes) {
  const std::string dir = testing::TempDir("npy_ds");
  Tensor images(DType::kInt8, {4, 3, 8, 8});
  for (size_t i = 0; i < images.bytes.size(); ++i) images.bytes[i] = uint8_t(i * 13);
  Tensor labels(DType::kInt64, {4});
  const int64_t l[] = {2, 0, 2, 1};
  std::memcpy(labels.bytes.data(), l, sizeof l);
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", images).ok());
  ASSERT_TRUE(WriteNpy(dir + "/y.npy", labels).ok());
  DatasetSpec spec;
  spec.kind = "npy";
  spec.path = dir + "/x.npy";
  spec.labels_path = dir + "/y.npy";
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->num_classes(), 3);
  ASSERT_EQ((*ds)->size(), 4u);
  auto s1 = LoadOne(**ds, 1, 8);
  EXPECT_EQ(0, std::memcmp(s1.data(), images.bytes.data() + 192, 192));
  // r = 16: the same sample resized through the image path.
  const Image img = Int8ChwToImage(images.data<int8_t>() + 192, 8, 8);
  std::vector<int8_t> want(3 * 16 * 16);
  ASSERT_TRUE(ImageToInt8Chw(*ResizeBilinear(img, 16, 16), want.data()).ok());
  EXPECT_EQ(LoadOne(**ds, 1, 16), want);

  spec.classes = "2";
  auto sub = OpenDataset(spec);
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ((*sub)->size(), 2u);
  EXPECT_EQ((*sub)->label(1), 0);
  EXPECT_EQ(0, std::memcmp(LoadOne(**sub, 1, 8).data(), images.bytes.data() + 2 * 192, 192));

  spec.classes = "";
  spec.labels_path = "";
  EXPECT_FALSE(OpenDataset(spec).ok());
  Tensor wrong(DType::kUInt8, {4, 3, 8, 8});
  ASSERT_TRUE(WriteNpy(dir + "/u.npy", wrong).ok());
  spec.path = dir + "/u.npy";
  spec.labels_path = dir + "/y.npy";
  auto r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("found uint8 [4,3,8,8], expected int8"), std::string::npos)
      << r.status().message();
  spec.kind = "csv";
  EXPECT_FALSE(OpenDataset(spec).ok());
}

TEST(InferenceInputs, NpyAndImagesConcatenated) {
  const std::string dir = testing::TempDir("infer_inputs");
  Tensor t(DType::kInt8, {2, 3, 6, 6});
  for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = uint8_t(i);
  ASSERT_TRUE(WriteNpy(dir + "/two.npy", t).ok());
  WritePng(dir + "/pic.png", 10, 4, 3, 50);
  auto r = LoadInferenceInputs({dir + "/two.npy", dir + "/pic.png"}, SampleFormat::Rgb(6));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape, (std::vector<int64_t>{3, 3, 6, 6}));
  EXPECT_EQ(0, std::memcmp(r->bytes.data(), t.bytes.data(), t.bytes.size()));
  std::vector<int8_t> want(3 * 36);
  ASSERT_TRUE(
      ImageToInt8Chw(*ResizeBilinear(*ReadImage(dir + "/pic.png"), 6, 6), want.data()).ok());
  EXPECT_EQ(0, std::memcmp(r->bytes.data() + t.bytes.size(), want.data(), want.size()));

  Tensor f(DType::kFloat32, {1, 3, 6, 6});
  ASSERT_TRUE(WriteNpy(dir + "/f.npy", f).ok());
  r = LoadInferenceInputs({dir + "/f.npy"}, SampleFormat::Rgb(6));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            dir + "/f.npy: found float32 [1,3,6,6], expected int8 [N,3,6,6] (the model's input layout, q = pixel - 128)");
  r = LoadInferenceInputs({dir + "/two.npy"}, SampleFormat::Rgb(8));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("found int8 [2,3,6,6], expected int8 [N,3,8,8]"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(dir + "/junk.jpg", std::string("no image here")).ok());
  r = LoadInferenceInputs({dir + "/junk.jpg"}, SampleFormat::Rgb(6));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(dir + "/junk.jpg: cannot decode image", 0), 0u)
      << r.status().message();
  EXPECT_FALSE(LoadInferenceInputs({}, SampleFormat::Rgb(6)).ok());
  EXPECT_FALSE(LoadInferenceInputs({dir + "/absent.png"}, SampleFormat::Rgb(6)).ok());
}

TEST(Dataset, ParallelLoadsMatchSerial) {
  DatasetSpec spec = FakeFmnistSpec("fmnist_threads");
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok());
  auto aug = Augmenter::Create(AugmentConfig());
  ASSERT_TRUE(aug.ok());
  std::vector<std::vector<int8_t>> serial;
  for (size_t i = 0; i < 12; ++i)
    serial.push_back(LoadOne(**ds, i, 32, &*aug, SampleSeed(5, 0, i)));
  std::vector<std::vector<int8_t>> par(12, std::vector<int8_t>(3 * 32 * 32));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = t; i < 12; i += 4)
        (void)(*ds)->Load(i, SampleFormat::Rgb(32), &*aug, SampleSeed(5, 0, i), par[i].data());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(par, serial);
  EXPECT_NE(serial[0], LoadOne(**ds, 0, 32, &*aug, SampleSeed(5, 1, 0)));  // another epoch
}

// --presize N: each image is first resized to N x N, as a dataset stored at that size (the reference keeps
// Fashion-MNIST upscaled to 128x128), then transformed. Same size = identity; otherwise the two resizes
// compose exactly as done by hand; out-of-range values are refused.
TEST(Presize, ResizesFirstThenTransforms) {
  DatasetSpec spec = FakeFmnistSpec("fmnist_presize");
  auto plain = OpenDataset(spec);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  spec.presize = 28;
  auto same = OpenDataset(spec);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(LoadOne(**plain, 9, 20), LoadOne(**same, 9, 20));

  spec.presize = 41;
  auto pre = OpenDataset(spec);
  ASSERT_TRUE(pre.ok());
  // By hand: the 28x28 grey image at r = 28 (identity), resized to 41, then to 20.
  const std::vector<int8_t> orig = LoadOne(**plain, 9, 28);
  Image img(28, 28, 1);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(orig[i] + 128);
  auto big = ResizeBilinear(img, 41, 41);
  ASSERT_TRUE(big.ok());
  auto small = ResizeBilinear(*big, 20, 20);
  ASSERT_TRUE(small.ok());
  const std::vector<int8_t> got = LoadOne(**pre, 9, 20);
  for (size_t i = 0; i < small->pixels.size(); ++i)
    ASSERT_EQ(got[i], static_cast<int8_t>(small->pixels[i] - 128)) << i;
  EXPECT_NE(got, LoadOne(**plain, 9, 20));  // two resizes are not one

  spec.presize = -1;
  EXPECT_FALSE(OpenDataset(spec).ok());
}

// skip: a validation split after the training samples. Samples skip.. of the selection, the same bytes and labels
// as without skip, max_samples counted after the skip; skipping everything or a negative count is refused.
TEST(Skip, DropsTheFirstMatchingSamplesThenCountsMaxSamples) {
  DatasetSpec spec = FakeFmnistSpec("fmnist_skip");
  spec.classes = "0,1,3";  // samples 0, 1, 3, 10, 11
  auto all = OpenDataset(spec);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ((*all)->size(), 5u);
  spec.skip = 2;
  spec.max_samples = 1;
  auto part = OpenDataset(spec);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  ASSERT_EQ((*part)->size(), 1u);
  EXPECT_EQ((*part)->label(0), (*all)->label(2));
  EXPECT_EQ((*part)->class_names(), (*all)->class_names());
  EXPECT_EQ(LoadOne(**part, 0, 16), LoadOne(**all, 2, 16));
  spec.max_samples = -1;
  auto rest = OpenDataset(spec);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ((*rest)->size(), (*all)->size() - 2);
  EXPECT_EQ(LoadOne(**rest, (*rest)->size() - 1, 16), LoadOne(**all, (*all)->size() - 1, 16));
  int8_t buf[3 * 16 * 16];
  EXPECT_FALSE((*rest)->Load((*rest)->size(), SampleFormat::Rgb(16), nullptr, 0, buf).ok());
  spec.skip = static_cast<int64_t>((*all)->size());
  auto none = OpenDataset(spec);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().ToString().find("leaves none"), std::string::npos) << none.status().ToString();
  spec.skip = -1;
  EXPECT_FALSE(OpenDataset(spec).ok());
}

}  // namespace
}  // namespace tte
