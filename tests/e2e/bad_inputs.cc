// The catalogue of bad inputs (see bad_inputs.h). Every input is made here, from the tiny model and
// sample files of tests/support, never from ../shared.
#include "e2e/bad_inputs.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "core/npy.h"
#include "core/zip.h"
#include "model/pickle.h"
#include "model/pkl_io.h"
#include "support/sample_files.h"

namespace tte::testing {
namespace {

using Bytes = std::vector<uint8_t>;
using pickle::PyPtr;
using pickle::PyType;

// A .pkl (zip) holding the pickle bytes `pkl` as archive/data.pkl.
Bytes PklFile(const Bytes& pkl) {
  ZipWriter w;
  w.Add("archive/data.pkl", pkl);
  w.Add("archive/version", Bytes{'3', '\n'});
  return w.Finish();
}

// The tiny model with the value at a dotted path ("blocks.0.depthwise.params.x_scale"; numbers index
// lists) replaced.
Bytes TinyModelWith(const std::string& path, const PyPtr& value) {
  PyPtr root = ModelToPickle(TinyModel());
  pickle::PyValue* v = root.get();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v->type == PyType::kList) {
      v = v->items.at(std::stoul(key)).get();
    } else {
      auto it = v->dict.begin();
      while (it != v->dict.end() && it->first->s != key) ++it;
      if (dot == std::string::npos) {
        if (it == v->dict.end()) v->dict.emplace_back(pickle::Str(key), value);
        else it->second = value;
        break;
      }
      v = it->second.get();
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return PklFile(pickle::Dump(*root));
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes Str(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes Repeat(uint8_t b, size_t n) { return Bytes(n, b); }
Bytes Le(uint64_t v, int n) {
  Bytes out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}
Bytes Random(size_t n, uint64_t seed) {
  Bytes out(n);
  for (auto& b : out) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(seed >> 56);
  }
  return out;
}

// The 1 MB pickles of issue 17: PROTO 2, NONE, 1,000,000 x TUPLE1, STOP; and the same nesting as the
// value of the dict key first_conv.
Bytes NestedTuples() { return Cat({{0x80, 2, 'N'}, Repeat(0x85, 1000000), {'.'}}); }
Bytes NestedUnderFirstConv() {
  return Cat({{0x80, 2, '}', 'X'}, Le(10, 4), Str("first_conv"), {'N'}, Repeat(0x85, 1000000), {'s', '.'}});
}
// 200,000 empty lists, then 200,000 APPENDs, each putting the top list into the one below.
Bytes NestedLists() { return Cat({{0x80, 2}, Repeat(']', 200000), Repeat('a', 199999), {'.'}}); }

// A float32 array of `n` values with entry `bad` replaced.
PyPtr FloatArray(int64_t n, int64_t bad, float value, float fill) {
  Tensor t(DType::kFloat32, {n});
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = i == bad ? value : fill;
  return pickle::Array(t);
}

// The tiny model with an fp32 head (tte_head) of 3 classes over its 8 features.
PyPtr Head(float weight5) {
  Tensor w(DType::kFloat32, {3, 8}), b(DType::kFloat32, {3});
  for (int64_t i = 0; i < 24; ++i) w.data<float>()[i] = i == 5 ? weight5 : 0.01f * static_cast<float>(i);
  return pickle::Dict({{"out_features", pickle::Int(3)}, {"in_features", pickle::Int(8)},
                       {"weight", pickle::Array(w)}, {"bias", pickle::Array(b)}});
}

// The tiny model at an input size of `hw` (every layer's in_shape/out_shape follows).
Bytes TinyModelAt(int hw) {
  Model m = TinyModel();
  m.first_conv.in_hw = hw;
  m.first_conv.out_hw = m.first_conv.OutSize(hw);
  for (ConvLayer* c : m.MutableConvs())
    if (c != &m.first_conv) c->in_hw = c->out_hw = m.first_conv.out_hw;
  m.blocks[0].residual->in_hw = m.first_conv.out_hw;
  return SerializeModelFile(m);
}

// A PNG whose header claims w x h pixels (no image data follows).
Bytes PngHeaderOnly(uint32_t w, uint32_t h) {
  Bytes png = EncodePng(2, 2, 1, TestPixels(2, 2, 1));
  const Bytes size = {uint8_t(w >> 24), uint8_t(w >> 16), uint8_t(w >> 8), uint8_t(w),
                      uint8_t(h >> 24), uint8_t(h >> 16), uint8_t(h >> 8), uint8_t(h)};
  std::copy(size.begin(), size.end(), png.begin() + 16);
  return png;  // the IHDR CRC no longer matches: stb_image does not check it, the size check comes first
}

Bytes NpyHeader(const std::string& dict, const Bytes& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  return Cat({{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Le(h.size(), 2), Str(h), data});
}

void Write(const std::string& path, const Bytes& b) { WriteBytes(path, b); }
void MakeDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
}
void WriteUnreadable(const std::string& path, const Bytes& b) {
  WriteBytes(path, b);
  std::error_code ec;
  std::filesystem::permissions(path, std::filesystem::perms::none, ec);
}

BadInput E(std::string id, std::string kind, std::string what, std::function<void(const std::string&)> make,
           std::string args, std::vector<std::string> says, std::vector<std::string> no_output = {},
           BadInput::Runner runner = BadInput::Runner::kPlain) {
  BadInput e;
  e.id = std::move(id);
  e.kind = std::move(kind);
  e.what = std::move(what);
  e.make = std::move(make);
  e.args = std::move(args);
  e.says = std::move(says);
  e.no_output = std::move(no_output);
  e.runner = runner;
  return e;
}

}  // namespace

std::vector<BadInput> BadInputCatalogue() {
  using R = BadInput::Runner;
  const std::string info = "info {dir}/m.pkl";
  const std::string infer = "infer --model {good} --input {dir}/in --output {dir}/y.npy";
  const std::string train = "train --model {good} --data npy:{dir}/train.npy --labels {dir}/labels.npy "
                            "--eval-data npy:{dir}/train.npy --eval-labels {dir}/labels.npy --epochs 1 --quiet ";
  const std::string fmnist = "train --model {good} --data fmnist:{dir} --epochs 1 --train-samples 4 --quiet --out {dir}/out.pkl";
  auto model = [](Bytes b) { return [b](const std::string& d) { Write(d + "/m.pkl", b); }; };
  auto input = [](Bytes b) { return [b](const std::string& d) { Write(d + "/in", b); }; };
  auto idx = [](Bytes images) {
    return [images](const std::string& d) {
      Write(d + "/train-images-idx3-ubyte.gz", images);
      Write(d + "/train-labels-idx1-ubyte.gz", Gzip(IdxLabels(4, 10)));
    };
  };
  const Bytes good = TinyModelFile();
  const Bytes png = EncodePng(8, 8, 3, TestPixels(8, 8, 3));
  const Bytes gz_images = Gzip(IdxImages(4, 28, 28));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();

  std::vector<BadInput> c = {
      // ---- truncated
      E("truncated-pkl", "truncated", "a model file cut in half", model(Bytes(good.begin(), good.begin() + good.size() / 2)), info,
       {"m.pkl", "truncated"}),
      E("truncated-pickle", "truncated", "a model whose data.pkl is cut in half (the zip itself intact)",
       [](const std::string& d) {
         auto z = ZipReader::Open(TinyModelFile(), "tiny");
         Bytes pkl = *z->Read(*z->Find("data.pkl"));
         pkl.resize(pkl.size() / 2);
         Write(d + "/m.pkl", PklFile(pkl));
       },
       info, {"m.pkl:archive/data.pkl", "pickle byte", "truncated"}),
      E("truncated-npy", "truncated", "an input .npy missing its last bytes",
       input([] { Bytes b = SerializeNpy(RampTensor(DType::kInt8, {1, 3, 8, 8})); b.resize(b.size() - 5); return b; }()), infer,
       {"in", "truncated"}, {"y.npy"}),
      E("truncated-png", "truncated", "an input PNG cut in half", input(Bytes(png.begin(), png.begin() + png.size() / 2)), infer,
       {"in", "cannot decode image"}, {"y.npy"}),
      E("truncated-idx-gz", "truncated", "a gzip IDX image file cut in half",
       idx(Bytes(gz_images.begin(), gz_images.begin() + gz_images.size() / 2)), fmnist, {"train-images-idx3-ubyte.gz", "gzip"},
       {"out.pkl"}),
      // ---- zero-length
      E("empty-pkl", "zero-length", "an empty model file", model({}), info, {"m.pkl", "0 bytes"}),
      E("empty-npy", "zero-length", "an empty input file", input({}), infer, {"in", "empty file"}, {"y.npy"}),
      E("empty-idx", "zero-length", "an empty IDX image file", idx({}), fmnist, {"train-images-idx3-ubyte.gz", "header"},
       {"out.pkl"}),
      E("empty-pickle", "zero-length", "a model whose data.pkl is empty", model(PklFile({})), info,
       {"m.pkl:archive/data.pkl", "pickle byte 0"}),
      // ---- random
      E("random-pkl", "random", "4 KB of random bytes as a model", model(Random(4096, 1)), info, {"m.pkl", "not a zip archive"}),
      E("random-pickle", "random", "a model whose data.pkl is 4 KB of random bytes", model(PklFile(Random(4096, 2))), info,
       {"m.pkl:archive/data.pkl", "pickle byte"}),
      E("random-input", "random", "4 KB of random bytes as an input (not an image; not whole raw samples)", input(Random(4096, 3)), infer,
       {"in", "neither .npy nor an image", "not a whole number of raw int8 samples"}, {"y.npy"}),
      // ---- deeply nested
      E("nested-tuples", "deeply nested", "the 1 MB pickle of issue 17: 1,000,000 nested TUPLE1", model(PklFile(NestedTuples())),
       info, {"m.pkl:archive/data.pkl", "pickle byte 103", "nested more than 100 deep"}),
      E("nested-first-conv", "deeply nested", "the same nesting as the value of first_conv",
       model(PklFile(NestedUnderFirstConv())), info, {"m.pkl:archive/data.pkl", "pickle byte", "nested more than 100 deep"}),
      E("nested-lists", "deeply nested", "200,000 lists appended into each other", model(PklFile(NestedLists())), info,
       {"m.pkl:archive/data.pkl", "pickle byte", "nested more than 100 deep"}),
      E("cycle", "deeply nested", "a list appended to itself (a reference cycle)",
       model(PklFile({0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'})), info, {"m.pkl:archive/data.pkl", "pickle byte 7", "cycle"}),
      E("nested-json", "deeply nested", "a scheme JSON nested 1,000,000 deep",
       [](const std::string& d) { Write(d + "/s.json", Cat({Repeat('[', 1000000), Repeat(']', 1000000)})); },
       "compile --model {good} --scheme {dir}/s.json", {"s.json"}),
      // ---- huge declared sizes
      E("huge-zip-entry", "huge declared size", "a zip entry declaring 3 GB uncompressed",
       model(OneEntryZip("archive/data.pkl", 8, Deflate(Str("x")), 0, 3000000000u)), info,
       {"m.pkl", "archive/data.pkl", "exceeds the limit"}),
      E("zip-bomb-ratio", "huge declared size", "a deflated entry declaring 1 GB from 3 bytes",
       model(OneEntryZip("archive/data.pkl", 8, Deflate(Str("x")), 0, 1u << 30)), info,
       {"m.pkl", "archive/data.pkl", "impossible for"}),
      E("huge-pickle-string", "huge declared size", "a pickle string declaring 2^62 bytes",
       model(PklFile(Cat({{0x80, 2, 0x8d}, Le(uint64_t{1} << 62, 8), Str("abc.")}))), info,
       {"m.pkl:archive/data.pkl", "pickle byte 2", "runs past the end"}),
      E("huge-array", "huge declared size", "first_conv.params.weight declaring shape [2^20, 2^20, 4] with no data",
       [](const std::string& d) {
         Tensor t;
         t.dtype = DType::kInt8;
         t.shape = {1 << 20, 1 << 20, 4};
         Write(d + "/m.pkl", TinyModelWith("first_conv.params.weight", pickle::Array(t)));
       },
       info, {"m.pkl:archive/data.pkl", "pickle byte", "more than 2147483648 elements"}),
      E("huge-npy-shape", "huge declared size", "an input .npy declaring shape (10^12 - 1, 10^12 - 1)",
       input(NpyHeader("{'descr': '|i1', 'fortran_order': False, 'shape': (999999999999, 999999999999), }", Bytes(64))), infer,
       {"in", "'shape'", "needs more than the 64 data bytes"}, {"y.npy"}),
      E("huge-npy-header", "huge declared size", "an input .npy (version 2) declaring a 4 GB header",
       input(Cat({{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}, Le(0xffffffffu, 4), Str("{}")})), infer,
       {"in", "header of 4294967295 bytes exceeds the limit"}, {"y.npy"}),
      E("huge-idx-count", "huge declared size", "an IDX image file declaring 4,294,967,295 images",
       idx([] { Bytes b = IdxImages(2, 28, 28); b[4] = b[5] = b[6] = b[7] = 0xff; return Gzip(b); }()), fmnist,
       {"train-images-idx3-ubyte.gz", "header: 4294967295 images but the file holds 2"}, {"out.pkl"}),
      E("huge-image", "huge declared size", "a PNG whose header claims 20000 x 20000 pixels", input(PngHeaderOnly(20000, 20000)),
       infer, {"in", "20000x20000", "out of range"}, {"y.npy"}),
      E("huge-activations", "huge declared size", "a model declaring a 16384 x 16384 input (805 MB of activations)",
       model(TinyModelAt(16384)), "infer --model {dir}/m.pkl --input {dir}/x.npy --output {dir}/y.npy",
       {"m.pkl", "input", "exceed the limit"}, {"y.npy"}),
      // ---- wrong dtypes and shapes
      E("weight-dtype", "wrong dtype or shape", "first_conv.params.weight as float32",
       model(TinyModelWith("first_conv.params.weight", pickle::Array(Tensor(DType::kFloat32, {4, 3, 3, 3}))) ), info,
       {"m.pkl", "first_conv.params.weight: dtype float32, expected int8"}),
      E("weight-shape", "wrong dtype or shape", "blocks.0.depthwise weight of the wrong shape",
       model(TinyModelWith("blocks.0.depthwise.params.weight", pickle::Array(Tensor(DType::kInt8, {8, 1, 5, 5})))), info,
       {"m.pkl", "blocks.0.depthwise.params.weight: shape [8,1,5,5], expected [8,1,3,3]"}),
      E("shared-array", "wrong dtype or shape", "one array used by two layers (through the pickle memo)",
       [](const std::string& d) {
         // first_conv and blocks.0.pointwise2 both have an int32 bias of 4: the pickle stores one array
         // and references it twice.
         PyPtr root = ModelToPickle(TinyModel());
         auto* fc = const_cast<pickle::PyValue*>(root->Get("first_conv")->Get("params"));
         auto* pw2 = const_cast<pickle::PyValue*>(root->Get("blocks")->items[0]->Get("pointwise2")->Get("params"));
         for (auto& [k, v] : pw2->dict)
           if (k->s == "bias")
             for (auto& [k2, v2] : fc->dict)
               if (k2->s == "bias") v = v2;
         Write(d + "/m.pkl", PklFile(pickle::Dump(*root)));
       },
       info, {"m.pkl", "blocks.0.pointwise2.params.bias", "already used by another layer"}),
      E("input-dtype", "wrong dtype or shape", "an input .npy of float32", input(SerializeNpy(RampTensor(DType::kFloat32, {1, 3, 8, 8}))),
       infer, {"in", "found float32 [1,3,8,8], expected int8 [N,3,8,8]"}, {"y.npy"}),
      E("input-shape", "wrong dtype or shape", "an input .npy of 16 x 16 for an 8 x 8 model",
       input(SerializeNpy(RampTensor(DType::kInt8, {1, 3, 16, 16}))), infer, {"in", "[1,3,16,16]", "[N,3,8,8]"}, {"y.npy"}),
      E("labels-shape", "wrong dtype or shape", "5 labels for 16 training images",
       [](const std::string& d) { WriteBytes(d + "/labels.npy", SerializeNpy(RampTensor(DType::kInt64, {5}))); },
       train + "--out {dir}/out.pkl", {"labels.npy", "labels: shape [5], expected [16]"}, {"out.pkl"}),
      // ---- NaN and Inf
      E("nan-x-scale", "NaN or Inf", "first_conv.params.x_scale = NaN", model(TinyModelWith("first_conv.params.x_scale", pickle::Float(nan))),
       info, {"m.pkl", "first_conv.params.x_scale", "positive finite"}),
      E("inf-w-scale", "NaN or Inf", "blocks.0.pointwise2.params.w_scales[2] = Inf",
       model(TinyModelWith("blocks.0.pointwise2.params.w_scales", FloatArray(4, 2, inf, 0.01f))), info,
       {"m.pkl", "blocks.0.pointwise2.params.w_scales", "entry 2"}),
      E("inf-residual-scale", "NaN or Inf", "blocks.0.residual.params.y_scale = Inf",
       model(TinyModelWith("blocks.0.residual.params.y_scale", pickle::Float(inf))), info,
       {"m.pkl", "blocks[0].residual.params.y_scale", "positive finite"}),
      E("scale-overflow", "NaN or Inf", "x_scale 1e30 over y_scale 1e-30 (the effective scale overflows float32)",
       [](const std::string& d) {
         Model m = TinyModel();
         m.first_conv.x_scale = 1e30;
         m.first_conv.y_scale = 1e-30;
         Write(d + "/m.pkl", SerializeModelFile(m));
       },
       info, {"m.pkl", "first_conv.params", "overflows float32"}),
      E("nan-head-weight", "NaN or Inf", "tte_head.weight[5] = NaN", model(TinyModelWith("tte_head", Head(nan))), info,
       {"m.pkl", "tte_head.weight", "entry 5", "not a finite number"}),
      // ---- unsupported globals
      E("global-os-system", "unsupported global", "a pickle calling os.system('echo')",
       model(PklFile(Cat({{0x80, 2}, Str("cos\nsystem\nX"), Le(4, 4), Str("echo"), {0x85, 'R', '.'}}))), info,
       {"m.pkl:archive/data.pkl", "pickle byte 2", "'os.system'"}),
      E("global-eval", "unsupported global", "builtins.eval through STACK_GLOBAL",
       model(PklFile(Cat({{0x80, 4, 0x8c, 8}, Str("builtins"), {0x8c, 4}, Str("eval"), {0x93, '.'}}))), info,
       {"m.pkl:archive/data.pkl", "pickle byte 18", "'builtins.eval'"}),
      E("bare-dtype", "unsupported global", "a numpy.dtype left in the model's values",
       model(PklFile(Cat({{0x80, 2}, Str("cnumpy\ndtype\nX"), Le(2, 4), Str("f4"), {0x85, 'R', '.'}}))), info,
       {"m.pkl:archive/data.pkl", "bare numpy.dtype"}),
      // ---- zero points
      E("zero-point-300", "out-of-range zero point", "first_conv.params.x_zero = 300",
       model(TinyModelWith("first_conv.params.x_zero", pickle::Int(300))), info,
       {"m.pkl", "first_conv.params.x_zero: 300 is outside [-128, 255]"}),
      E("zero-point-uint8", "out-of-range zero point", "classifier.params.y_zero = 200 (uint8 activations)",
       model(TinyModelWith("classifier.params.y_zero", pickle::Int(200))), info, {"m.pkl", "classifier.params", "above 127"}),
      E("residual-zero-point", "out-of-range zero point", "blocks.0.residual.params.x_zero = -129",
       model(TinyModelWith("blocks.0.residual.params.x_zero", pickle::Int(-129))), info,
       {"m.pkl", "blocks[0].residual.params.x_zero: -129 is outside [-128, 127]"}),
      // ---- a directory where a file is expected
      E("model-directory", "directory for a file", "a directory given as the model", [](const std::string& d) { MakeDir(d + "/m.pkl"); },
       info, {"m.pkl", "is a directory"}),
      E("input-directory", "directory for a file", "a directory given as an input", [](const std::string& d) { MakeDir(d + "/in"); },
       infer, {"in", "is a directory"}, {"y.npy"}),
      E("scheme-directory", "directory for a file", "a directory given as the scheme",
       [](const std::string& d) { MakeDir(d + "/s.json"); }, "compile --model {good} --scheme {dir}/s.json",
       {"s.json", "is a directory"}),
      E("idx-directory", "directory for a file", "a directory in place of the IDX image file",
       [](const std::string& d) {
         MakeDir(d + "/train-images-idx3-ubyte.gz");
         Write(d + "/train-labels-idx1-ubyte.gz", Gzip(IdxLabels(4, 10)));
       },
       fmnist, {"train-images-idx3-ubyte.gz", "is a directory"}, {"out.pkl"}),
      E("output-directory", "directory for a file", "a directory given as the output", [](const std::string& d) { MakeDir(d + "/y.npy"); },
       "infer --model {good} --input {dir}/x.npy --output {dir}/y.npy", {"y.npy"}),
      // ---- unreadable and missing paths
      E("unreadable-model", "unreadable path", "a model file without read permission (run as another user)",
       [](const std::string& d) { WriteUnreadable(d + "/m.pkl", TinyModelFile()); }, info, {"m.pkl", "Permission denied"}, {},
       R::kAsOtherUser),
      E("missing-model", "unreadable path", "a model file that does not exist", [](const std::string&) {}, info,
       {"m.pkl", "no such model file"}),
      E("path-through-file", "unreadable path", "an input path whose parent is a file",
       input(png), "infer --model {good} --input {dir}/in/x.png --output {dir}/y.npy", {"in/x.png"}, {"y.npy"}),
      // ---- full disk
      E("full-disk-model", "full disk", "tte train --out on a full file system",
       [](const std::string&) {}, train + "--lr 0.01 --out {dir}/full/out.pkl", {"out.pkl", "write failed"}, {"full/out.pkl"},
       R::kFullDisk),
      E("full-disk-npy", "full disk", "tte infer --output on a full file system", [](const std::string&) {},
       "infer --model {good} --input {dir}/x.npy --output {dir}/full/y.npy", {"y.npy", "write failed"}, {"full/y.npy"},
       R::kFullDisk),
      E("full-stdout", "full disk", "tte info writing to /dev/full", [](const std::string&) {}, "info {good}",
       {"standard output"}, {}, R::kStdoutFull),
      // ---- divergence
      E("lr-1e30", "divergence", "tte train --lr 1e30", [](const std::string&) {}, train + "--lr 1e30 --out {dir}/out.pkl",
       {"training diverged", "lower --lr"}, {"out.pkl"}),
  };
  return c;
}

}  // namespace tte::testing
