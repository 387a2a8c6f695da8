// tte_fuzz_seeds OUT_DIR: writes the seed corpus of every fuzz target, made by tte's own code (no
// third-party data): OUT_DIR/{pkl,npy,zip,idx,image}/. Each seed is a small, complete, valid file (a
// few KB at most) so that fuzzing starts inside each reader's core rather than at its header; the
// tool checks that every seed parses with the reader it is for, and fails otherwise.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/npy.h"
#include "core/zip.h"
#include "data/idx.h"
#include "data/image.h"
#include "model/pickle.h"
#include "model/pkl_io.h"
#include "support/sample_files.h"

namespace tte {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

int failures = 0;

void Seed(const std::string& dir, const std::string& name, const Bytes& bytes, const Status& parses) {
  if (!parses.ok()) {
    std::fprintf(stderr, "tte_fuzz_seeds: seed %s/%s does not parse: %s\n", dir.c_str(), name.c_str(),
                 parses.ToString().c_str());
    ++failures;
  }
  Status s = WriteFileAtomic(dir + "/" + name, bytes);
  if (!s.ok()) {
    std::fprintf(stderr, "tte_fuzz_seeds: %s\n", s.ToString().c_str());
    ++failures;
  }
}

template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}

// A pickle written opcode by opcode: the opcodes Python's protocols 2-4 use that tte's writer does not.
class PickleAsm {
 public:
  PickleAsm& Raw(std::initializer_list<int> b) {
    for (int x : b) out.push_back(static_cast<uint8_t>(x));
    return *this;
  }
  PickleAsm& Text(const std::string& s) {
    out.insert(out.end(), s.begin(), s.end());
    return *this;
  }
  PickleAsm& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  PickleAsm& ShortStr(const std::string& s) { return Raw({0x8c}).Le(s.size(), 1).Text(s); }
  Bytes out;
};

// Protocol 4 as Python writes it (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL), plus the rarer
// opcodes: BINUNICODE8, BINBYTES/SHORT_BINBYTES/BINBYTES8, LONG1, BINFLOAT, LONG_BINPUT/LONG_BINGET,
// TUPLE1-3, NEWTRUE/NEWFALSE, and a numpy array built from STACK_GLOBAL names.
Bytes OpcodeTour() {
  PickleAsm body;
  body.Raw({'}', 0x94, '('});
  body.ShortStr("ints").Raw({0x94, '(', 'K', 7, 'M', 0x34, 0x12, 'J', 0xff, 0xff, 0xff, 0x7f, 0x8a, 3, 1, 2, 0x83, 't', 0x94});
  body.ShortStr("float").Raw({'G', 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a});
  body.ShortStr("text").Raw({0x8d}).Le(3, 8).Text("abc").Raw({'X'}).Le(2, 4).Text("\xc3\xa9").Raw({0x86});
  body.ShortStr("bytes").Raw({'B'}).Le(2, 4).Text("xy").Raw({'C', 1, 'z', 0x8e}).Le(0, 8).Raw({0x87});
  body.ShortStr("flags").Raw({0x88, 0x89, 'N', 0x87, 'r'}).Le(300, 4);
  body.ShortStr("again").Raw({'j'}).Le(300, 4);
  body.ShortStr("list").Raw({']', 'q', 9, '(', 'K', 1, 'K', 2, 'e'});
  body.ShortStr("same list").Raw({'h', 9, 'K', 3, 'a'});
  // numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') + BUILD((1, (2,), dtype('i2'), False, data))
  body.ShortStr("array").ShortStr("numpy.core.multiarray").ShortStr("_reconstruct").Raw({0x93});
  body.ShortStr("numpy").ShortStr("ndarray").Raw({0x93, 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R', '(', 'K', 1, 'K', 2, 0x85});
  body.ShortStr("numpy").ShortStr("dtype").Raw({0x93}).ShortStr("i2").Raw({0x89, 0x88, 0x87, 'R', '(', 'K', 3});
  body.ShortStr("<").Raw({'N', 'N', 'N', 'J'}).Le(0xffffffff, 4).Raw({'J'}).Le(0xffffffff, 4).Raw({'K', 0, 't', 'b', 0x89});
  body.Raw({'C', 4, 1, 0, 0xfe, 0xff, 't', 'b', 'u', '.'});
  PickleAsm p;
  p.Raw({0x80, 4, 0x95}).Le(body.out.size(), 8);
  p.out.insert(p.out.end(), body.out.begin(), body.out.end());
  return p.out;
}

Model TinyModelWithHead() {
  Model m = testing::TinyModel(2);
  FpHead h;
  h.in = m.feature_channels();
  h.out = 3;
  for (int i = 0; i < h.in * h.out; ++i) h.weight.push_back(0.01f * static_cast<float>(i % 7 - 3));
  h.bias = {0.1f, -0.2f, 0.3f};
  h.class_names = {"zero", "one", "two"};
  m.fp_head = h;
  return m;
}

void PklSeeds(const std::string& dir) {
  const Bytes file = testing::TinyModelFile();
  Seed(dir, "tiny.pkl", file, StatusOf(ParseModelFile(file, "tiny.pkl")));
  auto zip = ZipReader::Open(file, "tiny.pkl");
  const Bytes pkl = zip.ok() ? *zip->Read(*zip->Find("data.pkl")) : Bytes{};
  auto root = pickle::Load(pkl, "tiny.pickle");
  Seed(dir, "tiny.pickle", pkl, root.ok() ? StatusOf(ModelFromPickle(**root, "tiny.pickle")) : root.status());
  const Bytes head = pickle::Dump(*ModelToPickle(TinyModelWithHead()));
  auto head_root = pickle::Load(head, "head.pickle");
  Seed(dir, "head.pickle", head, head_root.ok() ? StatusOf(ModelFromPickle(**head_root, "head.pickle")) : head_root.status());
  const Bytes tour = OpcodeTour();
  Seed(dir, "opcodes.pickle", tour, StatusOf(pickle::Load(tour, "opcodes.pickle")));
  // Sharing through the memo: the same dict twice in a list, and a str key used by two dicts.
  auto shared = pickle::Dict({{"k", pickle::Int(1)}});
  auto both = pickle::List({shared, shared, pickle::Tuple({shared})});
  const Bytes memo = pickle::Dump(*both);
  Seed(dir, "memo.pickle", memo, StatusOf(pickle::Load(memo, "memo.pickle")));
}

void NpySeeds(const std::string& dir) {
  const std::pair<const char*, Tensor> tensors[] = {
      {"input_int8.npy", testing::RampTensor(DType::kInt8, {1, 3, 8, 8})},
      {"float32.npy", testing::RampTensor(DType::kFloat32, {2, 5})},
      {"labels_int64.npy", testing::RampTensor(DType::kInt64, {4})},
      {"scalar_uint8.npy", Tensor(DType::kUInt8, {})},
      {"empty_int16.npy", Tensor(DType::kInt16, {0, 3})},
      {"bool.npy", Tensor(DType::kBool, {3, 1})}};
  for (const auto& [name, t] : tensors) {
    const Bytes b = SerializeNpy(t);
    Seed(dir, name, b, StatusOf(ParseNpy(b, name)));
  }
  // Version 2.0 header (4-byte length), as numpy writes for long headers.
  Bytes v2 = SerializeNpy(testing::RampTensor(DType::kFloat32, {3}));
  v2[6] = 2;
  v2.insert(v2.begin() + 10, {0, 0});
  Seed(dir, "v2.npy", v2, StatusOf(ParseNpy(v2, "v2.npy")));
}

void ZipSeeds(const std::string& dir) {
  auto opens = [](const Bytes& b, const std::string& label) -> Status {
    TTE_ASSIGN_OR_RETURN(ZipReader z, ZipReader::Open(b, label));
    for (const ZipEntry& e : z.entries()) TTE_RETURN_IF_ERROR(StatusOf(z.Read(e)));
    return Status::Ok();
  };
  const Bytes model = testing::TinyModelFile();
  Seed(dir, "tiny.pkl", model, opens(model, "tiny.pkl"));
  ZipWriter npz;
  npz.Add("a.npy", SerializeNpy(testing::RampTensor(DType::kInt8, {2, 3})));
  npz.Add("b.npy", SerializeNpy(testing::RampTensor(DType::kFloat32, {2})));
  const Bytes npz_bytes = npz.Finish();
  Seed(dir, "stored.npz", npz_bytes, opens(npz_bytes, "stored.npz"));
  const Bytes npy = SerializeNpy(testing::RampTensor(DType::kFloat32, {40}));
  const Bytes deflated = testing::OneEntryZip("x.npy", 8, testing::Deflate(npy), Crc32(npy.data(), npy.size()),
                                              static_cast<uint32_t>(npy.size()));
  Seed(dir, "deflated.npz", deflated, opens(deflated, "deflated.npz"));
}

void IdxSeeds(const std::string& dir) {
  const Bytes images = testing::IdxImages(3, 5, 4), labels = testing::IdxLabels(7, 10);
  Seed(dir, "images", images, StatusOf(ParseIdxImages(images, "images")));
  Seed(dir, "labels", labels, StatusOf(ParseIdxLabels(labels, "labels")));
  for (const auto& [name, raw] : {std::pair{"images.gz", images}, std::pair{"labels.gz", labels}}) {
    const Bytes gz = testing::Gzip(raw);
    auto back = GunzipIfCompressed(gz, name);
    Seed(dir, name, gz, back.ok() && *back == raw ? Status::Ok() : InvalidArgument("gzip round trip"));
  }
}

void ImageSeeds(const std::string& dir) {
  struct Entry {
    std::string name;
    Bytes bytes;
  };
  const int w = 13, h = 7;
  const Bytes grey = testing::TestPixels(w, h, 1), rgb = testing::TestPixels(w, h, 3), rgba = testing::TestPixels(w, h, 4);
  const Entry entries[] = {
      {"grey.png", testing::EncodePng(w, h, 1, grey)},    {"rgb.png", testing::EncodePng(w, h, 3, rgb)},
      {"rgba.png", testing::EncodePng(w, h, 4, rgba)},    {"rgb.jpg", testing::EncodeJpeg(w, h, 3, rgb)},
      {"grey.jpg", testing::EncodeJpeg(w, h, 1, grey)},   {"rgb.bmp", testing::EncodeBmp(w, h, 3, rgb)},
      {"rgba.bmp", testing::EncodeBmp(w, h, 4, rgba)},    {"rle.tga", testing::EncodeTga(w, h, 3, rgb, true)},
      {"raw.tga", testing::EncodeTga(w, h, 1, grey, false)}, {"grey.pgm", testing::EncodePnm(w, h, 1, grey)},
      {"rgb.ppm", testing::EncodePnm(w, h, 3, rgb)},      {"grey.gif", testing::EncodeGif(w, h, grey)}};
  for (const Entry& e : entries) {
    auto img = DecodeImage(e.bytes.data(), e.bytes.size(), e.name);
    Status ok = !img.ok() ? img.status()
                : img->width == w && img->height == h ? Status::Ok()
                                                      : InvalidArgument("decodes to the wrong size");
    Seed(dir, e.name, e.bytes, ok);
  }
}

}  // namespace
}  // namespace tte

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tte_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::pair<const char*, void (*)(const std::string&)> targets[] = {
      {"pkl", tte::PklSeeds}, {"npy", tte::NpySeeds}, {"zip", tte::ZipSeeds}, {"idx", tte::IdxSeeds}, {"image", tte::ImageSeeds}};
  for (const auto& [name, make] : targets) {
    std::error_code ec;
    std::filesystem::create_directories(out + "/" + name, ec);
    if (ec) {
      std::fprintf(stderr, "tte_fuzz_seeds: %s/%s: %s\n", out.c_str(), name, ec.message().c_str());
      return 1;
    }
    make(out + "/" + name);
  }
  return tte::failures == 0 ? 0 : 1;
}
