// ModelFile -> .tflite bytes with flatbuffers' builder, and same-size buffer replacement in place.
#include "import/tflite/writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "tflite_subset_generated.h"

namespace tte::tflite {
namespace {

namespace fbs = ::flatbuffers;
using fbs::FlatBufferBuilder;
using fbs::Offset;

bool KnownOptionsType(uint8_t t) {
  switch (t) {
    case fb::BuiltinOptions_NONE:
    case fb::BuiltinOptions_Conv2DOptions:
    case fb::BuiltinOptions_DepthwiseConv2DOptions:
    case fb::BuiltinOptions_Pool2DOptions:
    case fb::BuiltinOptions_FullyConnectedOptions:
    case fb::BuiltinOptions_SoftmaxOptions:
    case fb::BuiltinOptions_AddOptions:
    case fb::BuiltinOptions_ReshapeOptions:
    case fb::BuiltinOptions_PadOptions:
    case fb::BuiltinOptions_ReducerOptions:
    case fb::BuiltinOptions_SqueezeOptions:
      return true;
    default:
      return false;
  }
}

template <typename T>
Offset<fbs::Vector<T>> VecOrNull(FlatBufferBuilder& b, const std::vector<T>& v) {
  return v.empty() ? 0 : b.CreateVector(v);
}

// The options table of an operator and its union type.
std::pair<fb::BuiltinOptions, Offset<void>> BuildOptions(FlatBufferBuilder& b, const Operator& op) {
  using T = fb::BuiltinOptions;
  auto act = [](Activation a) { return static_cast<fb::ActivationFunctionType>(a); };
  auto pad = [](Padding p) { return static_cast<fb::Padding>(p); };
  auto type = [](TensorType t) { return static_cast<fb::TensorType>(t); };
  const BuiltinOptions& o = op.options;
  if (auto* c = std::get_if<Conv2dOptions>(&o)) {
    return {
        T::BuiltinOptions_Conv2DOptions,
        fb::CreateConv2DOptions(b, pad(c->padding), c->stride_w, c->stride_h, act(c->activation),
                                c->dilation_w, c->dilation_h, type(c->quantized_bias_type))
            .Union()};
  }
  if (auto* c = std::get_if<DepthwiseConv2dOptions>(&o)) {
    return {T::BuiltinOptions_DepthwiseConv2DOptions,
            fb::CreateDepthwiseConv2DOptions(b, pad(c->padding), c->stride_w, c->stride_h,
                                             c->depth_multiplier, act(c->activation), c->dilation_w,
                                             c->dilation_h)
                .Union()};
  }
  if (auto* c = std::get_if<Pool2dOptions>(&o)) {
    return {T::BuiltinOptions_Pool2DOptions,
            fb::CreatePool2DOptions(b, pad(c->padding), c->stride_w, c->stride_h, c->filter_w,
                                    c->filter_h, act(c->activation))
                .Union()};
  }
  if (auto* c = std::get_if<FullyConnectedOptions>(&o)) {
    return {T::BuiltinOptions_FullyConnectedOptions,
            fb::CreateFullyConnectedOptions(
                b, act(c->activation),
                static_cast<fb::FullyConnectedOptionsWeightsFormat>(c->weights_format),
                c->keep_num_dims, c->asymmetric_quantize_inputs, type(c->quantized_bias_type))
                .Union()};
  }
  if (auto* c = std::get_if<SoftmaxOptions>(&o)) {
    // The builder leaves out a field equal to its default, and -0.0 == 0.0: force it out, or a
    // beta of -0.0 would read back as +0.0 (found by the fuzzer).
    b.ForceDefaults(std::signbit(c->beta));
    auto table = fb::CreateSoftmaxOptions(b, c->beta);
    b.ForceDefaults(false);
    return {T::BuiltinOptions_SoftmaxOptions, table.Union()};
  }
  if (auto* c = std::get_if<AddOptions>(&o)) {
    return {T::BuiltinOptions_AddOptions,
            fb::CreateAddOptions(b, act(c->activation), c->pot_scale_int16).Union()};
  }
  if (auto* c = std::get_if<ReshapeOptions>(&o)) {
    // Written even when empty (the reader reads an absent and an empty new_shape alike).
    return {T::BuiltinOptions_ReshapeOptions,
            fb::CreateReshapeOptions(b, b.CreateVector(c->new_shape)).Union()};
  }
  if (std::holds_alternative<PadOptions>(o)) {
    return {T::BuiltinOptions_PadOptions, fb::CreatePadOptions(b).Union()};
  }
  if (auto* c = std::get_if<ReducerOptions>(&o)) {
    return {T::BuiltinOptions_ReducerOptions, fb::CreateReducerOptions(b, c->keep_dims).Union()};
  }
  if (auto* c = std::get_if<SqueezeOptions>(&o)) {
    return {T::BuiltinOptions_SqueezeOptions,
            fb::CreateSqueezeOptions(b, b.CreateVector(c->squeeze_dims)).Union()};
  }
  // No table: a known type whose table was absent in the file (CheckWritable refuses others).
  return {static_cast<T>(op.options_type), 0};
}

Offset<fb::Tensor> WriteTensor(FlatBufferBuilder& b, const Tensor& t) {
  Offset<fb::QuantizationParameters> quant = 0;
  if (t.has_quantization) {
    const Quantization& q = t.quantization;
    quant = fb::CreateQuantizationParameters(
        b, VecOrNull(b, q.min), VecOrNull(b, q.max), VecOrNull(b, q.scale),
        VecOrNull(b, q.zero_point), fb::QuantizationDetails_NONE, 0, q.quantized_dimension);
  }
  auto shape = b.CreateVector(t.shape);
  auto signature = VecOrNull(b, t.shape_signature);
  auto name = b.CreateString(t.name);
  return fb::CreateTensor(b, shape, static_cast<fb::TensorType>(t.type), t.buffer, name, quant,
                          t.is_variable, 0, signature, t.has_rank);
}

Offset<fb::Operator> WriteOperator(FlatBufferBuilder& b, const Operator& op) {
  auto inputs = b.CreateVector(op.inputs);
  auto outputs = b.CreateVector(op.outputs);
  auto [options_type, options] = BuildOptions(b, op);
  auto custom = VecOrNull(b, op.custom_options);
  Offset<fbs::Vector<uint8_t>> mutating = VecOrNull(b, op.mutating_variable_inputs);
  auto intermediates = VecOrNull(b, op.intermediates);
  return fb::CreateOperator(b, op.opcode_index, inputs, outputs, options_type, options, custom,
                            static_cast<fb::CustomOptionsFormat>(op.custom_options_format),
                            mutating, intermediates);
}

std::string Where(const ModelFile& m, size_t s, const char* kind, size_t i) {
  return m.label + ": subgraph " + std::to_string(s) + " " + kind + " " + std::to_string(i);
}

}  // namespace

Status CheckWritable(const ModelFile& m) {
  for (size_t s = 0; s < m.subgraphs.size(); ++s) {
    const SubGraph& g = m.subgraphs[s];
    for (size_t i = 0; i < g.tensors.size(); ++i) {
      const Tensor& t = g.tensors[i];
      const char* lost = t.sparse                           ? "sparsity parameters"
                         : t.quantization.details_type != 0 ? "quantization details"
                         : t.variant_tensors                ? "variant subtypes"
                         : t.external_buffer != 0           ? "an external buffer"
                                                            : nullptr;
      if (lost != nullptr) {
        return Unsupported(Where(m, s, "tensor", i) + " '" + t.name + "' has " + lost +
                           ", which the reader does not keep: the file cannot be rewritten");
      }
    }
    for (size_t i = 0; i < g.operators.size(); ++i) {
      const Operator& op = g.operators[i];
      if (!KnownOptionsType(op.options_type) || op.options2_type != 0) {
        return Unsupported(
            Where(m, s, "op", i) + " " + m.OpName(op) + " has builtin options (union type " +
            std::to_string(op.options2_type != 0 ? op.options2_type : op.options_type) +
            (op.options2_type != 0 ? " of BuiltinOptions2" : "") +
            ") that the reader does not keep: the file cannot be rewritten");
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> WriteModelFile(const ModelFile& m, const WriteOptions& options) {
  if (options.validate) TTE_RETURN_IF_ERROR(ValidateModelFile(m));
  TTE_RETURN_IF_ERROR(CheckWritable(m));
  uint64_t data_bytes = 0;
  for (uint32_t i = 0; i < m.buffers.size(); ++i) data_bytes += m.BufferData(i).size();
  if (data_bytes + (uint64_t{1} << 20) > kMaxFileBytes) {
    return InvalidArgument(m.label + ": " + std::to_string(data_bytes) +
                           " bytes of buffers: more than the writer's limit of about " +
                           std::to_string(kMaxFileBytes) + " bytes");
  }
  FlatBufferBuilder b(static_cast<size_t>(options.buffers_outside ? 4096 : data_bytes + 4096));

  // Buffers first: the builder writes back to front, so they end up at the end of the file.
  std::vector<Offset<fb::Buffer>> buffers;
  std::vector<uint32_t> outside;  // buffers whose data goes after the flatbuffer
  for (uint32_t i = 0; i < m.buffers.size(); ++i) {
    std::span<const uint8_t> d = m.BufferData(i);
    if (d.empty()) {
      buffers.push_back(fb::CreateBuffer(b));
    } else if (options.buffers_outside) {
      // offset 2 is a placeholder (any value > 1 puts the field in the table); patched below.
      buffers.push_back(fb::CreateBuffer(b, 0, 2, d.size()));
      outside.push_back(i);
    } else {
      b.ForceVectorAlignment(d.size(), 1, 16);
      buffers.push_back(fb::CreateBuffer(b, b.CreateVector(d.data(), d.size())));
    }
  }
  auto buffers_vec = b.CreateVector(buffers);

  std::vector<Offset<fb::SubGraph>> subgraphs;
  for (const SubGraph& g : m.subgraphs) {
    std::vector<Offset<fb::Tensor>> tensors;
    for (const Tensor& t : g.tensors) tensors.push_back(WriteTensor(b, t));
    std::vector<Offset<fb::Operator>> ops;
    for (const Operator& op : g.operators) ops.push_back(WriteOperator(b, op));
    auto tensors_vec = b.CreateVector(tensors);
    auto inputs = b.CreateVector(g.inputs);
    auto outputs = b.CreateVector(g.outputs);
    auto ops_vec = b.CreateVector(ops);
    auto name = g.name.empty() ? 0 : b.CreateString(g.name);
    subgraphs.push_back(fb::CreateSubGraph(b, tensors_vec, inputs, outputs, ops_vec, name));
  }
  auto subgraphs_vec = b.CreateVector(subgraphs);

  std::vector<Offset<fb::OperatorCode>> codes;
  for (const OperatorCode& c : m.operator_codes) {
    auto custom = c.custom_code.empty() ? 0 : b.CreateString(c.custom_code);
    // TFLite reads max(deprecated_builtin_code, builtin_code); codes above 127 keep the
    // placeholder in the old byte field, as TFLite's converter writes them.
    auto deprecated =
        static_cast<int8_t>(std::min(c.builtin_code, int32_t{kPlaceholderForGreaterOpCodes}));
    codes.push_back(fb::CreateOperatorCode(b, deprecated, custom, c.version,
                                           static_cast<fb::BuiltinOperator>(c.builtin_code)));
  }
  auto codes_vec = b.CreateVector(codes);
  std::vector<Offset<fb::Metadata>> metadata;
  for (const Metadata& md : m.metadata) {
    metadata.push_back(fb::CreateMetadata(b, b.CreateString(md.name), md.buffer));
  }
  auto metadata_vec = m.metadata.empty() ? 0 : b.CreateVector(metadata);
  auto metadata_buffer = VecOrNull(b, m.metadata_buffer);
  auto description = m.description.empty() ? 0 : b.CreateString(m.description);
  fb::FinishModelBuffer(b, fb::CreateModel(b, m.version, codes_vec, subgraphs_vec, description,
                                           buffers_vec, metadata_buffer, metadata_vec));

  std::vector<uint8_t> out(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  if (!outside.empty()) {
    for (uint32_t i : outside) {
      std::span<const uint8_t> d = m.BufferData(i);
      out.resize((out.size() + 15) / 16 * 16, 0);
      const uint64_t at = out.size();
      out.insert(out.end(), d.begin(), d.end());
      fb::Model* model = fb::GetMutableModel(out.data());
      if (!model->mutable_buffers()->GetMutableObject(i)->mutate_offset(at)) {
        return Internal(m.label + ": writer: could not place buffer " + std::to_string(i));
      }
    }
  }
  return out;
}

Result<std::vector<uint8_t>> ReplaceBuffers(const ModelFile& m,
                                            const std::vector<BufferReplacement>& replacements) {
  std::vector<uint8_t> out = m.bytes;
  for (const BufferReplacement& r : replacements) {
    const std::string where = m.label + ": buffer " + std::to_string(r.buffer);
    if (r.buffer >= m.buffers.size()) {
      return InvalidArgument(where + " does not exist (the file has " +
                             std::to_string(m.buffers.size()) + " buffers)");
    }
    const Buffer& b = m.buffers[r.buffer];
    if (b.owned) {
      return InvalidArgument(where + " was edited in memory: write the file with WriteModelFile");
    }
    if (r.data.size() != b.size) {
      return InvalidArgument(where + " holds " + std::to_string(b.size) +
                             " bytes, the replacement " + std::to_string(r.data.size()) +
                             ": sizes differ (rebuild with WriteModelFile)");
    }
    if (!r.data.empty()) std::memcpy(out.data() + b.offset, r.data.data(), r.data.size());
  }
  return out;
}

}  // namespace tte::tflite
