// ModelFile: a TFLite flatbuffer (.tflite) read into plain C++ structs, and its reader.
//
// The reader trusts nothing: it checks the file size against kMaxFileBytes, runs flatbuffers'
// Verifier (depth and table limits below) over the whole file, copies what tte needs into the
// structs under an element budget (flatbuffers may share one table from many places, so a small
// file could otherwise ask for a huge copy), then validates meaning: indices in range, buffer sizes
// against shape x type, quantization arrays, shapes. Every message names the file and the field:
//   "m.tflite: subgraph 0 tensor 7 'conv/w': buffer 3 holds 100 bytes, [8,3,3,3] x INT8 needs 216"
// Constant data is not copied: a Buffer is a range of the file's bytes (ModelFile::bytes) until an
// editor gives it bytes of its own (SetBufferData).
//
//   TTE_ASSIGN_OR_RETURN(tflite::ModelFile m, tflite::ReadModelFile("m.tflite"));
//   m.subgraphs[0].operators[3].inputs ...;  m.BufferData(m.subgraphs[0].tensors[7].buffer) ...
//
// The writer (writer.h) turns a ModelFile back into bytes; the importer (importer.h) turns one into
// an ir::Graph. Fields of the schema tte does not keep are listed in docs/tflite.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace tte::tflite {

// ------------------------------------------------------------------------------------- limits
// All limits of the reader, in one place (docs/tflite.md repeats them).
inline constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;  // 1 GiB (flatbuffers: < 2 GiB)
inline constexpr uint32_t kMaxDepth = 64;                     // nesting of tables and vectors
// Tables the verifier may visit: a table takes at least 4 bytes, plus 4 for the offset to it.
inline constexpr uint64_t TableLimit(uint64_t file_bytes) { return file_bytes / 8 + 64; }
// Elements the reader may copy (vector entries, string bytes, tables): a file without shared
// tables never needs more than its own size.
inline constexpr uint64_t ElementBudget(uint64_t file_bytes) { return file_bytes + 4096; }
inline constexpr int kMaxRank = 8;                         // tensor dimensions
inline constexpr int64_t kMaxDim = int64_t{1} << 24;       // one dimension
inline constexpr int64_t kMaxElements = int64_t{1} << 28;  // elements of one tensor
// Bytes of constants the importer may create in tte's layout (weights, biases): ops may share one
// weight tensor or buffer, so without a bound a small file could ask for a huge graph.
inline constexpr uint64_t ImportConstantBudget(uint64_t file_bytes) {
  return 4 * file_bytes + (uint64_t{1} << 20);
}

// -------------------------------------------------------------------------------------- codes
// TFLite's TensorType codes, as the file stores them (values outside this list are refused).
enum class TensorType : int8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kString = 5,
  kBool = 6,
  kInt16 = 7,
  kComplex64 = 8,
  kInt8 = 9,
  kFloat64 = 10,
  kComplex128 = 11,
  kUInt64 = 12,
  kResource = 13,
  kVariant = 14,
  kUInt32 = 15,
  kUInt16 = 16,
  kInt4 = 17,
  kBFloat16 = 18,
  kInt2 = 19,
  kUInt4 = 20,
  kFloat8E4M3 = 21,
  kFloat8E5M2 = 22,
};
const char* TensorTypeName(TensorType t);  // "INT8", "FLOAT32"; "unknown type" outside the list
// Bytes of `numel` elements of a type stored densely (packed for 4- and 2-bit types), or -1 for
// types without a fixed size (STRING, RESOURCE, VARIANT, unknown codes).
int64_t DenseBytes(TensorType t, int64_t numel);

// TFLite BuiltinOperator codes tte refers to by name; BuiltinOperatorName covers every code.
enum BuiltinCode : int32_t {
  kAdd = 0,
  kAveragePool2d = 1,
  kConv2d = 3,
  kDepthwiseConv2d = 4,
  kDequantize = 6,
  kFullyConnected = 9,
  kReshape = 22,
  kSoftmax = 25,
  kCustom = 32,
  kPad = 34,
  kMean = 40,
  kSqueeze = 43,
  kQuantize = 114,
  kHardSwish = 117,
  kPlaceholderForGreaterOpCodes = 127,
};
const char* BuiltinOperatorName(int32_t code);  // "CONV_2D", "HARD_SWISH"; "unknown operator"

enum class Padding : int8_t { kSame = 0, kValid = 1 };
// TFLite ActivationFunctionType: NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT.
enum class Activation : int8_t {
  kNone = 0,
  kRelu = 1,
  kReluN1To1 = 2,
  kRelu6 = 3,
  kTanh = 4,
  kSignBit = 5
};
const char* ActivationName(Activation a);  // "RELU6"; "unknown activation"

// ---------------------------------------------------------------------------- builtin options
// The options tables tte reads, field for field (defaults as in TFLite's schema).
struct Conv2dOptions {
  Padding padding = Padding::kSame;
  int32_t stride_w = 0, stride_h = 0;
  Activation activation = Activation::kNone;
  int32_t dilation_w = 1, dilation_h = 1;
  TensorType quantized_bias_type = TensorType::kFloat32;  // 0: not set
  bool operator==(const Conv2dOptions&) const = default;
};
struct DepthwiseConv2dOptions {
  Padding padding = Padding::kSame;
  int32_t stride_w = 0, stride_h = 0;
  int32_t depth_multiplier = 0;
  Activation activation = Activation::kNone;
  int32_t dilation_w = 1, dilation_h = 1;
  bool operator==(const DepthwiseConv2dOptions&) const = default;
};
struct Pool2dOptions {
  Padding padding = Padding::kSame;
  int32_t stride_w = 0, stride_h = 0;
  int32_t filter_w = 0, filter_h = 0;
  Activation activation = Activation::kNone;
  bool operator==(const Pool2dOptions&) const = default;
};
struct FullyConnectedOptions {
  Activation activation = Activation::kNone;
  int8_t weights_format = 0;  // 0 DEFAULT, 1 SHUFFLED4x16INT8
  bool keep_num_dims = false;
  bool asymmetric_quantize_inputs = false;
  TensorType quantized_bias_type = TensorType::kFloat32;  // 0: not set
  bool operator==(const FullyConnectedOptions&) const = default;
};
struct SoftmaxOptions {
  float beta = 0.0f;
  bool operator==(const SoftmaxOptions& o) const;  // bitwise on beta (NaN == NaN)
};
struct AddOptions {
  Activation activation = Activation::kNone;
  bool pot_scale_int16 = true;
  bool operator==(const AddOptions&) const = default;
};
struct ReshapeOptions {
  std::vector<int32_t> new_shape;
  bool operator==(const ReshapeOptions&) const = default;
};
struct PadOptions {
  bool operator==(const PadOptions&) const = default;
};
struct ReducerOptions {
  bool keep_dims = false;
  bool operator==(const ReducerOptions&) const = default;
};
struct SqueezeOptions {
  std::vector<int32_t> squeeze_dims;
  bool operator==(const SqueezeOptions&) const = default;
};
using BuiltinOptions =
    std::variant<std::monostate, Conv2dOptions, DepthwiseConv2dOptions, Pool2dOptions,
                 FullyConnectedOptions, SoftmaxOptions, AddOptions, ReshapeOptions, PadOptions,
                 ReducerOptions, SqueezeOptions>;

// ------------------------------------------------------------------------------------ structs
struct Quantization {
  std::vector<float> min, max, scale;
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  uint8_t details_type = 0;  // QuantizationDetails union type; != 0: not kept (refused)
  bool operator==(const Quantization& o) const;  // bitwise on floats
};

struct Tensor {
  std::vector<int32_t> shape;
  std::vector<int32_t> shape_signature;  // empty: absent
  TensorType type = TensorType::kFloat32;
  uint32_t buffer = 0;  // 0: no data (the empty sentinel buffer)
  std::string name;
  bool has_quantization = false;  // the table is present (it may hold empty arrays)
  Quantization quantization;
  bool is_variable = false;
  bool has_rank = false;
  // Present in the file but not kept (the importer and the writer refuse a tensor with them).
  bool sparse = false;
  bool variant_tensors = false;
  uint32_t external_buffer = 0;
  bool operator==(const Tensor&) const = default;
};

struct Operator {
  uint32_t opcode_index = 0;
  std::vector<int32_t> inputs;  // -1: optional input absent
  std::vector<int32_t> outputs;
  std::vector<int32_t> intermediates;
  std::vector<uint8_t> mutating_variable_inputs;  // bools
  BuiltinOptions options;
  uint8_t options_type = 0;   // TFLite BuiltinOptions union type; set but options empty: not kept
  uint8_t options2_type = 0;  // BuiltinOptions2 union type; != 0: not kept
  std::vector<uint8_t> custom_options;  // inline, or read from the large-model offset/size form
  int8_t custom_options_format = 0;
  bool operator==(const Operator&) const = default;
};

struct OperatorCode {
  int32_t builtin_code = 0;  // max(deprecated_builtin_code, builtin_code), as TFLite reads it
  std::string custom_code;
  int32_t version = 1;
  bool operator==(const OperatorCode&) const = default;
};

struct SubGraph {
  std::vector<Tensor> tensors;
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  std::vector<Operator> operators;
  std::string name;
  bool operator==(const SubGraph&) const = default;
};

struct Buffer {
  // Where the data is: bytes [offset, offset + size) of ModelFile::bytes, unless `owned` (then
  // `data`). `outside` records that the file used the >2 GB form (data after the flatbuffer).
  uint64_t offset = 0;
  uint64_t size = 0;
  bool outside = false;
  bool owned = false;
  std::vector<uint8_t> data;
};

struct Metadata {
  std::string name;
  uint32_t buffer = 0;
  bool operator==(const Metadata&) const = default;
};

struct ModelFile {
  std::string label;           // file name for messages
  std::vector<uint8_t> bytes;  // the file as read (buffers point into it)
  uint32_t version = 0;
  std::string description;
  std::vector<OperatorCode> operator_codes;
  std::vector<SubGraph> subgraphs;
  std::vector<Buffer> buffers;
  std::vector<int32_t> metadata_buffer;  // deprecated form of metadata, kept as is
  std::vector<Metadata> metadata;

  std::span<const uint8_t> BufferData(uint32_t index) const;  // empty if out of range
  void SetBufferData(uint32_t index, std::vector<uint8_t> data);
  // Appends a buffer holding `data` and a metadata entry naming it (e.g. class names).
  void AddMetadata(const std::string& name, std::vector<uint8_t> data);
  // Appends a constant tensor to subgraph `sg` with a new buffer holding `data`; non-empty `scales` quantize it
  // symmetrically (zero points 0) along `q_dim`. Returns the tensor index.
  int AddConstantTensor(uint32_t sg, const std::string& name, std::vector<int32_t> shape, TensorType type,
                        std::vector<uint8_t> data, std::vector<float> scales = {}, int32_t q_dim = 0);
  // Op name of an operator of subgraph 0 ("CONV_2D"; custom ops: "CUSTOM 'name'").
  std::string OpName(const Operator& op) const;
};

// Reads and checks a .tflite file (see the header comment).
Result<ModelFile> ReadModelFile(const std::string& path);
// Same for an in-memory file; `label` names it in messages.
Result<ModelFile> ParseModelFile(std::vector<uint8_t> bytes, const std::string& label);
// The semantic checks alone (ParseModelFile runs them; the writer runs them before writing).
Status ValidateModelFile(const ModelFile& m);

// "" if a and b hold the same model (everything kept, buffer contents compared by bytes, not by
// where they lie), else the first difference: "subgraph 0 tensor 3 shape: [1,8] vs [1,9]".
std::string FirstDifference(const ModelFile& a, const ModelFile& b);

}  // namespace tte::tflite
