// The catalogue of bad .tflite files (docs/tflite.md lists it): each file is made here from our own
// tiny model, and each must be refused with exactly its message, naming the file and the field. The
// docs must quote every message; a few files also go through the driver (exit 1, nothing written).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "core/file_io.h"
#include "core/splitmix.h"
#include "import/tflite/importer.h"
#include "import/tflite/writer.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"
#include "tflite_subset_generated.h"

namespace tte {
namespace {

using tflite::ModelFile;
using tflite::TensorType;

// Tiny model tensors: 0 input, 1 conv/w, 2 conv/b, 3 conv/out, 4 dw/w, 5 dw/b, 6 dw/out, 7 add/out,
// 8 pool/out, 9 reshape/shape, 10 flat, 11 fc/w, 12 fc/b, 13 logits, 14 probs.
std::vector<uint8_t> TinyWith(const std::function<void(ModelFile&)>& edit) {
  ModelFile m = testing::TinyModel().Parsed();
  edit(m);
  // Written without the writer's own validation, so that the reader is the one to find the fault.
  tflite::WriteOptions o;
  o.validate = false;
  auto bytes = tflite::WriteModelFile(m, o);
  if (bytes.ok()) return *bytes;
  ADD_FAILURE() << "could not write the bad model: " << bytes.status().ToString();
  return {};
}

// Tiny model bytes patched after writing, through the generated flatbuffer accessors.
std::vector<uint8_t> TinyPatched(const std::function<void(tflite::fb::Model*)>& patch,
                                 bool buffers_outside = false) {
  tflite::WriteOptions o;
  o.buffers_outside = buffers_outside;
  auto bytes = tflite::WriteModelFile(testing::TinyModel().Parsed(), o);
  EXPECT_TRUE(bytes.ok());
  patch(tflite::fb::GetMutableModel(bytes->data()));
  return *bytes;
}

tflite::Tensor& Tensor(ModelFile& m, int i) {
  return m.subgraphs[0].tensors[static_cast<size_t>(i)];
}

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed, bool with_identifier) {
  SplitMix64 rng{seed};
  std::vector<uint8_t> b(n);
  for (uint8_t& v : b) v = static_cast<uint8_t>(rng.Next());
  if (with_identifier) std::memcpy(b.data() + 4, "TFL3", 4);
  return b;
}

// A model whose 3000 operators are one shared table with 3000 inputs: 9 million elements from a
// file of about 24 KB.
std::vector<uint8_t> SharedTables() {
  namespace fb = tflite::fb;
  flatbuffers::FlatBufferBuilder b;
  std::vector<int32_t> inputs(3000, 0);
  auto op =
      fb::CreateOperator(b, 0, b.CreateVector(inputs), b.CreateVector(std::vector<int32_t>{0}));
  std::vector<flatbuffers::Offset<fb::Operator>> ops(3000, op);
  auto t = fb::CreateTensor(b, b.CreateVector(std::vector<int32_t>{1, 4}), fb::TensorType_INT8, 0,
                            b.CreateString("x"));
  auto sg = fb::CreateSubGraph(b, b.CreateVector(std::vector<flatbuffers::Offset<fb::Tensor>>{t}),
                               b.CreateVector(std::vector<int32_t>{0}),
                               b.CreateVector(std::vector<int32_t>{0}), b.CreateVector(ops));
  auto code = fb::CreateOperatorCode(b, 0, 0, 1, fb::BuiltinOperator_ADD);
  fb::FinishModelBuffer(
      b, fb::CreateModel(b, 3,
                         b.CreateVector(std::vector<flatbuffers::Offset<fb::OperatorCode>>{code}),
                         b.CreateVector(std::vector<flatbuffers::Offset<fb::SubGraph>>{sg})));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

// 40 FULLY_CONNECTED ops that all use one 64 KB weight tensor: 2.6 MB of constants from a 72 KB
// file.
std::vector<uint8_t> SharedWeights() {
  testing::ModelBuilder b("shared-weights.tflite");
  int x = b.Activation("input", {1, 256}, 0.1f, 0);
  const int in = x;
  const int w = b.Weights("fc/w", {256, 256}, {0.01f}, 0, testing::PatternValue);
  const int bias = b.Int32s("fc/b", {256}, std::vector<int32_t>(256, 0));
  for (int i = 0; i < 40; ++i) {
    const int y = b.Activation("fc" + std::to_string(i), {1, 256}, 0.1f, 0);
    b.Op(tflite::kFullyConnected, {x, w, bias}, {y}, tflite::FullyConnectedOptions{});
    x = y;
  }
  b.SetIo(in, x);
  return b.Bytes();
}

struct BadFile {
  const char* name;  // file name (the label in the message) and what it shows
  const char* what;  // one line for docs/tflite.md
  std::function<std::vector<uint8_t>()> make;
  const char* message;  // exactly what tte says
};

const std::vector<BadFile>& Catalogue() {
  static const std::vector<BadFile> k = {
      {"empty.tflite", "zero-length file", [] { return std::vector<uint8_t>{}; },
       "empty.tflite: file is 0 bytes: too short for a TFLite flatbuffer (root offset + 'TFL3')"},
      {"truncated.tflite", "the tiny model cut in half",
       [] {
         auto b = testing::TinyModel().Bytes();
         b.resize(b.size() / 2);
         return b;
       },
       "truncated.tflite: malformed TFLite flatbuffer: flatbuffers' Verifier rejects the 1448-byte "
       "file (an offset or length outside the file, a misaligned or unterminated field, nesting "
       "deeper than 64 or more than 245 tables)"},
      {"random.tflite", "4 KB of random bytes", [] { return RandomBytes(4096, 1, false); },
       "random.tflite: not a TFLite model: file identifier (bytes 4-7) is '\\xb9\\x80\\xa5u', "
       "expected 'TFL3'"},
      {"random-tfl3.tflite", "4 KB of random bytes with the TFL3 identifier",
       [] { return RandomBytes(4096, 2, true); },
       "random-tfl3.tflite: malformed TFLite flatbuffer: flatbuffers' Verifier rejects the "
       "4096-byte file (an offset or length outside the file, a misaligned or unterminated field, "
       "nesting deeper than 64 or more than 576 tables)"},
      {"root-offset.tflite", "root table offset past the end of the file",
       [] {
         auto b = testing::TinyModel().Bytes();
         uint32_t off = 0x7fffff00;
         std::memcpy(b.data(), &off, 4);
         return b;
       },
       "root-offset.tflite: malformed TFLite flatbuffer: flatbuffers' Verifier rejects the "
       "2896-byte file (an offset or length outside the file, a misaligned or unterminated field, "
       "nesting deeper than 64 or more than 426 tables)"},
      {"vector-length.tflite", "a weight buffer's length field set to 2^31 - 1",
       [] {
         ModelFile m = testing::TinyModel().Parsed();
         auto b = m.bytes;
         uint32_t len = 0x7fffffff;
         std::memcpy(b.data() + m.buffers[1].offset - 4, &len, 4);
         return b;
       },
       "vector-length.tflite: malformed TFLite flatbuffer: flatbuffers' Verifier rejects the "
       "2896-byte file (an offset or length outside the file, a misaligned or unterminated field, "
       "nesting deeper than 64 or more than 426 tables)"},
      {"buffer-offset.tflite",
       "a buffer stored outside the flatbuffer, its offset past the end of the file",
       [] {
         return TinyPatched(
             [](tflite::fb::Model* m) {
               m->mutable_buffers()->GetMutableObject(1)->mutate_offset(1ull << 40);
             },
             true);
       },
       "buffer-offset.tflite: buffer 1: offset 1099511627776 size 216 lies outside the file's 2976 "
       "bytes"},
      {"shared-tables.tflite",
       "3000 operators sharing one table of 3000 inputs (9 M elements from 24 KB)", SharedTables,
       "shared-tables.tflite: subgraph 0 op 8 inputs: the file's tables refer to more than 28296 "
       "elements in total, more than its 24200 bytes can hold (tables shared from many places?)"},
      {"shared-weights.tflite",
       "40 ops using one 64 KB weight tensor (2.6 MB of constants from 72 KB)", SharedWeights,
       "shared-weights.tflite: op 20 FULLY_CONNECTED: the ops' constants (weights, biases) come to "
       "more than 1338368 bytes in tte's layout, 4 x the file's 72448 bytes + 1 MiB (one weight "
       "tensor or buffer used by many ops?)"},
      {"tensor-index.tflite", "an op input pointing past the tensor list",
       [] { return TinyWith([](ModelFile& m) { m.subgraphs[0].operators[0].inputs[1] = 99; }); },
       "tensor-index.tflite: subgraph 0 op 0 CONV_2D: input 1 refers to tensor 99, but there are "
       "15 tensors"},
      {"opcode-index.tflite", "an op's opcode_index past the operator codes",
       [] {
         return TinyPatched([](tflite::fb::Model* m) {
           m->mutable_subgraphs()
               ->GetMutableObject(0)
               ->mutable_operators()
               ->GetMutableObject(2)
               ->mutate_opcode_index(7);
         });
       },
       "opcode-index.tflite: subgraph 0 op 2 refers to operator code 7, but there are 7 operator "
       "codes"},
      {"negative-opcode.tflite", "an operator code with builtin code -9",
       [] { return TinyWith([](ModelFile& m) { m.operator_codes[2].builtin_code = -9; }); },
       "negative-opcode.tflite: operator_codes 2: builtin code -9 is negative"},
      {"buffer-index.tflite", "a tensor's buffer index past the buffer list",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 11).buffer = 50; }); },
       "buffer-index.tflite: subgraph 0 tensor 11 'fc/w' refers to buffer 50, but there are 8 "
       "buffers"},
      {"buffer-size.tflite", "weights declared [8,3,3,4], buffer of [8,3,3,3]",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 1).shape = {8, 3, 3, 4};
            }); },
       "buffer-size.tflite: subgraph 0 tensor 1 'conv/w': buffer 1 holds 216 bytes, [8,3,3,4] x "
       "INT8 needs 288"},
      {"huge-shape.tflite", "input declared [1,16777216,16777216,3]",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 0).shape = {1, 1 << 24, 1 << 24, 3};
            }); },
       "huge-shape.tflite: subgraph 0 tensor 0 'input': shape [1,16777216,16777216,3] has more "
       "than 268435456 elements"},
      {"huge-dim.tflite", "input dimension 2^30",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 0).shape = {1, 1 << 30, 1, 3};
            }); },
       "huge-dim.tflite: subgraph 0 tensor 0 'input': shape [1,1073741824,1,3]: dimension "
       "1073741824 is outside [0, 16777216]"},
      {"negative-dim.tflite", "input dimension -8",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 0).shape = {1, -8, 8, 3};
            }); },
       "negative-dim.tflite: subgraph 0 tensor 0 'input': shape [1,-8,8,3]: dimension -8 is "
       "outside [0, 16777216]"},
      {"scales-zero-points.tflite", "8 scales, 7 zero points",
       [] {
         return TinyWith([](ModelFile& m) { Tensor(m, 1).quantization.zero_point.pop_back(); });
       },
       "scales-zero-points.tflite: subgraph 0 tensor 1 'conv/w': quantization has 8 scales and 7 "
       "zero points"},
      {"per-channel-count.tflite", "4 per-channel scales on 8 output channels",
       [] {
         return TinyWith([](ModelFile& m) {
           Tensor(m, 1).quantization.scale.resize(4);
           Tensor(m, 1).quantization.zero_point.resize(4);
         });
       },
       "per-channel-count.tflite: subgraph 0 tensor 1 'conv/w': 4 per-channel scales, but "
       "dimension 0 of [8,3,3,3] is 8"},
      {"sentinel-buffer.tflite", "buffer 0 holds data",
       [] { return TinyWith([](ModelFile& m) {
              m.SetBufferData(0, {1, 2, 3});
            }); },
       "sentinel-buffer.tflite: buffer 0 holds 3 bytes: it must be the empty sentinel buffer"},
      {"subgraphs.tflite", "two subgraphs",
       [] { return TinyWith([](ModelFile& m) { m.subgraphs.push_back(m.subgraphs[0]); }); },
       "subgraphs.tflite: the model has 2 subgraphs: only single-subgraph models (no control "
       "flow)"},
      {"unsupported-op.tflite", "the depthwise conv turned into HARD_SWISH",
       [] {
         return TinyWith([](ModelFile& m) {
           m.operator_codes[m.subgraphs[0].operators[1].opcode_index].builtin_code =
               tflite::kHardSwish;
         });
       },
       "unsupported-op.tflite: op 1 HARD_SWISH is not supported"},
      {"float-model.tflite", "float32 input",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 0).type = TensorType::kFloat32; }); },
       "float-model.tflite: input tensor 'input' is float32: only int8 models"},
      {"int16.tflite", "int16 activations (a 16x8 model)",
       [] {
         return TinyWith([](ModelFile& m) {
           for (int t : {0, 3, 6, 7, 8, 10, 13, 14}) Tensor(m, t).type = TensorType::kInt16;
         });
       },
       "int16.tflite: input tensor 'input' is int16: only int8 activations (16x8 models are not "
       "supported)"},
      {"uint8.tflite", "uint8 activations (old quantization scheme)",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 0).type = TensorType::kUInt8; }); },
       "uint8.tflite: input tensor 'input' is uint8: only int8 activations"},
      {"dynamic-shape.tflite", "input shape_signature [1,-1,8,3]",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 0).shape_signature = {1, -1, 8, 3};
            }); },
       "dynamic-shape.tflite: input tensor 'input' has a dynamic shape (shape_signature "
       "[1,-1,8,3]): only static shapes (a -1 batch is allowed)"},
      {"batch.tflite", "batch 2",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 0).shape[0] = 2; }); },
       "batch.tflite: input tensor 'input' has batch 2 (shape [2,8,8,3]): only batch 1"},
      {"nan-scale.tflite", "NaN output scale",
       [] {
         return TinyWith([](ModelFile& m) { Tensor(m, 3).quantization.scale[0] = std::nanf(""); });
       },
       "nan-scale.tflite: op 0 CONV_2D: output (tensor 3 'conv/out') has scale nan: not a positive "
       "finite number"},
      {"inf-scale.tflite", "infinite input scale",
       [] {
         return TinyWith([](ModelFile& m) {
           Tensor(m, 0).quantization.scale[0] = std::numeric_limits<float>::infinity();
         });
       },
       "inf-scale.tflite: input tensor 'input' has scale inf: not a positive finite number"},
      {"zero-scale.tflite", "weight scale 0 at one channel",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 1).quantization.scale[2] = 0.0f; }); },
       "zero-scale.tflite: op 0 CONV_2D: weights (tensor 1 'conv/w') have scale 0 at channel 2: "
       "not a positive finite number"},
      {"zero-point-range.tflite", "activation zero point 300",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 6).quantization.zero_point[0] = 300; }); },
       "zero-point-range.tflite: op 1 DEPTHWISE_CONV_2D: output (tensor 6 'dw/out') has zero point "
       "300, outside int8 [-128, 127]"},
      {"weight-zero-point.tflite", "weight zero point 5 at one channel",
       [] { return TinyWith([](ModelFile& m) { Tensor(m, 1).quantization.zero_point[3] = 5; }); },
       "weight-zero-point.tflite: op 0 CONV_2D: weights (tensor 1 'conv/w') have zero point 5 at "
       "channel 3: TFLite's int8 weights are symmetric (zero point 0)"},
      {"bias-count.tflite", "7 biases for 8 output channels",
       [] {
         return TinyWith([](ModelFile& m) {
           Tensor(m, 2).shape = {7};
           m.SetBufferData(Tensor(m, 2).buffer, std::vector<uint8_t>(28, 0));
         });
       },
       "bias-count.tflite: op 0 CONV_2D: bias (tensor 2 'conv/b') has 7 values for 8 output "
       "channels of the weights"},
      {"tanh.tflite", "fused TANH",
       [] {
         return TinyWith([](ModelFile& m) {
           std::get<tflite::Conv2dOptions>(m.subgraphs[0].operators[0].options).activation =
               tflite::Activation::kTanh;
         });
       },
       "tanh.tflite: op 0 CONV_2D: fused activation TANH (code 4) is not supported"},
      {"output-shape.tflite", "conv output declared [1,5,5,8] where the op computes [1,4,4,8]",
       [] { return TinyWith([](ModelFile& m) {
              Tensor(m, 3).shape = {1, 5, 5, 8};
            }); },
       "output-shape.tflite: op 0 CONV_2D: output (tensor 3 'conv/out') has shape [1,5,5,8], but "
       "the op computes [1,4,4,8]"},
  };
  return k;
}

Status ImportBytes(const std::vector<uint8_t>& bytes, const std::string& label) {
  auto m = tflite::ParseModelFile(bytes, label);
  if (!m.ok()) return m.status();
  auto g = tflite::ImportModelFile(*m);
  return g.ok() ? Status::Ok() : g.status();
}

TEST(TfliteBadFiles, EachIsRefusedWithItsMessage) {
  for (const BadFile& f : Catalogue()) {
    Status s = ImportBytes(f.make(), f.name);
    ASSERT_FALSE(s.ok()) << f.name << " was accepted";
    EXPECT_EQ(s.message(), f.message) << f.name;
    EXPECT_EQ(s.message().rfind(std::string(f.name) + ": ", 0), 0u)
        << "names the file: " << s.message();
  }
}

TEST(TfliteBadFiles, DocsQuoteEveryMessage) {
  auto doc = ReadTextFile(testing::SourcePath("docs/tflite.md"));
  ASSERT_TRUE(doc.ok());
  for (const BadFile& f : Catalogue()) {
    EXPECT_NE(doc->find(std::string("`") + f.message + "`"), std::string::npos)
        << "docs/tflite.md does not quote the message of " << f.name << ":\n| `" << f.name << "` | "
        << f.what << " | `" << f.message << "` |";
  }
}

TEST(TfliteBadFiles, DriverExitsNonZeroAndWritesNothing) {
  const std::string dir = testing::TempDir("tflite_bad_files");
  const std::string driver = std::string(TTE_BINARY_DIR) + "/tests/import/tte_import_driver";
  for (const char* name :
       {"truncated.tflite", "float-model.tflite", "unsupported-op.tflite", "nan-scale.tflite"}) {
    for (const BadFile& f : Catalogue()) {
      if (std::string(f.name) != name) continue;
      const std::string path = dir + "/" + name;
      ASSERT_TRUE(WriteFileAtomic(path, f.make()).ok());
      auto r = testing::RunCommand(driver + " " + path + " " + dir + "/graph.txt");
      EXPECT_EQ(r.exit_code, 1) << r.output;
      EXPECT_NE(r.output.find(path + ": "), std::string::npos) << r.output;
      EXPECT_FALSE(FileExists(dir + "/graph.txt")) << name;
    }
  }
  // The good model goes through: the graph text is written.
  const std::string good = dir + "/tiny.tflite";
  ASSERT_TRUE(WriteFileAtomic(good, testing::TinyModel().Bytes()).ok());
  auto r = testing::RunCommand(driver + " " + good + " " + dir + "/graph.txt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto text = ReadTextFile(dir + "/graph.txt");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("n0 conv2d"), std::string::npos) << *text;
}

// A -1 batch in shape_signature is the usual converter output: accepted.
TEST(TfliteBadFiles, DynamicBatchAloneIsAccepted) {
  auto bytes = TinyWith([](ModelFile& m) { Tensor(m, 0).shape_signature = {-1, 8, 8, 3}; });
  EXPECT_TRUE(ImportBytes(bytes, "batch.tflite").ok());
}

}  // namespace
}  // namespace tte
