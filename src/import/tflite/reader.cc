// The .tflite reader: size and identifier checks, flatbuffers' Verifier, then a copy of the
// flatbuffer into ModelFile under an element budget. Semantic checks are in validate.cc.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "core/file_io.h"
#include "import/tflite/model_file.h"
#include "tflite_subset_generated.h"

namespace tte::tflite {
namespace {

namespace fbs = ::flatbuffers;
using uoffset = fbs::uoffset_t;
static_assert(FLATBUFFERS_LITTLEENDIAN, "the reader copies flatbuffer scalars bytewise");

// Copies flatbuffer contents into plain structs, charging every element to a budget so that tables
// shared from many places cannot turn a small file into a huge allocation.
class Copier {
 public:
  Copier(const std::string& label, uint64_t file_bytes)
      : label_(label), file_bytes_(file_bytes), left_(ElementBudget(file_bytes)) {}

  Status Charge(uint64_t n, const std::string& where) {
    if (n > left_) {
      return InvalidArgument(label_ + ": " + where + ": the file's tables refer to more than " +
                             std::to_string(ElementBudget(file_bytes_)) +
                             " elements in total, more than its " + std::to_string(file_bytes_) +
                             " bytes can hold (tables shared from many places?)");
    }
    left_ -= n;
    return Status::Ok();
  }

  // Vectors of scalars. The Verifier only checks a vector's 4-byte alignment, so 8-byte elements
  // (zero points) may be misaligned: elements are copied bytewise, never loaded through a pointer.
  // (Flatbuffers are little-endian, as is every host tte builds for.)
  template <typename Out, typename In>
  Status Vec(const fbs::Vector<In>* v, std::vector<Out>* out, const std::string& where) {
    static_assert(std::is_arithmetic_v<In>);
    out->clear();
    if (v == nullptr) return Status::Ok();
    TTE_RETURN_IF_ERROR(Charge(v->size(), where));
    out->reserve(v->size());
    const uint8_t* p = v->Data();
    for (uoffset i = 0; i < v->size(); ++i) {
      In x;
      std::memcpy(&x, p + static_cast<size_t>(i) * sizeof(In), sizeof(In));
      out->push_back(static_cast<Out>(x));
    }
    return Status::Ok();
  }

  Status Str(const fbs::String* s, std::string* out, const std::string& where) {
    out->clear();
    if (s == nullptr) return Status::Ok();
    TTE_RETURN_IF_ERROR(Charge(s->size() + 1, where));
    out->assign(s->c_str(), s->size());
    return Status::Ok();
  }

 private:
  const std::string& label_;
  uint64_t file_bytes_;
  uint64_t left_;
};

Activation Act(int8_t a) { return static_cast<Activation>(a); }

BuiltinOptions ReadOptions(const fb::Operator& op) {
  switch (op.builtin_options_type()) {
    case fb::BuiltinOptions_Conv2DOptions: {
      const fb::Conv2DOptions* o = op.builtin_options_as_Conv2DOptions();
      if (o == nullptr) return std::monostate{};
      return Conv2dOptions{static_cast<Padding>(o->padding()),
                           o->stride_w(),
                           o->stride_h(),
                           Act(o->fused_activation_function()),
                           o->dilation_w_factor(),
                           o->dilation_h_factor(),
                           static_cast<TensorType>(o->quantized_bias_type())};
    }
    case fb::BuiltinOptions_DepthwiseConv2DOptions: {
      const fb::DepthwiseConv2DOptions* o = op.builtin_options_as_DepthwiseConv2DOptions();
      if (o == nullptr) return std::monostate{};
      return DepthwiseConv2dOptions{static_cast<Padding>(o->padding()),
                                    o->stride_w(),
                                    o->stride_h(),
                                    o->depth_multiplier(),
                                    Act(o->fused_activation_function()),
                                    o->dilation_w_factor(),
                                    o->dilation_h_factor()};
    }
    case fb::BuiltinOptions_Pool2DOptions: {
      const fb::Pool2DOptions* o = op.builtin_options_as_Pool2DOptions();
      if (o == nullptr) return std::monostate{};
      return Pool2dOptions{static_cast<Padding>(o->padding()),
                           o->stride_w(),
                           o->stride_h(),
                           o->filter_width(),
                           o->filter_height(),
                           Act(o->fused_activation_function())};
    }
    case fb::BuiltinOptions_FullyConnectedOptions: {
      const fb::FullyConnectedOptions* o = op.builtin_options_as_FullyConnectedOptions();
      if (o == nullptr) return std::monostate{};
      return FullyConnectedOptions{Act(o->fused_activation_function()),
                                   static_cast<int8_t>(o->weights_format()), o->keep_num_dims(),
                                   o->asymmetric_quantize_inputs(),
                                   static_cast<TensorType>(o->quantized_bias_type())};
    }
    case fb::BuiltinOptions_SoftmaxOptions: {
      const fb::SoftmaxOptions* o = op.builtin_options_as_SoftmaxOptions();
      if (o == nullptr) return std::monostate{};
      return SoftmaxOptions{o->beta()};
    }
    case fb::BuiltinOptions_AddOptions: {
      const fb::AddOptions* o = op.builtin_options_as_AddOptions();
      if (o == nullptr) return std::monostate{};
      return AddOptions{Act(o->fused_activation_function()), o->pot_scale_int16()};
    }
    case fb::BuiltinOptions_PadOptions:
      if (op.builtin_options_as_PadOptions() == nullptr) return std::monostate{};
      return PadOptions{};
    case fb::BuiltinOptions_ReducerOptions: {
      const fb::ReducerOptions* o = op.builtin_options_as_ReducerOptions();
      if (o == nullptr) return std::monostate{};
      return ReducerOptions{o->keep_dims()};
    }
    default:
      return std::monostate{};  // Reshape/Squeeze (vectors) are read by the caller; others not kept
  }
}

Status ReadOperator(const fb::Operator& src, Operator* op, Copier& c, const ModelFile& m,
                    const std::string& where) {
  op->opcode_index = src.opcode_index();
  TTE_RETURN_IF_ERROR(c.Vec(src.inputs(), &op->inputs, where + " inputs"));
  TTE_RETURN_IF_ERROR(c.Vec(src.outputs(), &op->outputs, where + " outputs"));
  TTE_RETURN_IF_ERROR(c.Vec(src.intermediates(), &op->intermediates, where + " intermediates"));
  TTE_RETURN_IF_ERROR(c.Vec(src.mutating_variable_inputs(), &op->mutating_variable_inputs,
                            where + " mutating_variable_inputs"));
  op->options_type = static_cast<uint8_t>(src.builtin_options_type());
  op->options2_type = static_cast<uint8_t>(src.builtin_options_2_type());
  op->options = ReadOptions(src);
  if (const fb::ReshapeOptions* o = src.builtin_options_as_ReshapeOptions()) {
    ReshapeOptions r;
    TTE_RETURN_IF_ERROR(c.Vec(o->new_shape(), &r.new_shape, where + " new_shape"));
    op->options = std::move(r);
  } else if (const fb::SqueezeOptions* o = src.builtin_options_as_SqueezeOptions()) {
    SqueezeOptions s;
    TTE_RETURN_IF_ERROR(c.Vec(o->squeeze_dims(), &s.squeeze_dims, where + " squeeze_dims"));
    op->options = std::move(s);
  }
  op->custom_options_format = static_cast<int8_t>(src.custom_options_format());
  TTE_RETURN_IF_ERROR(c.Vec(src.custom_options(), &op->custom_options, where + " custom_options"));
  uint64_t off = src.large_custom_options_offset(), size = src.large_custom_options_size();
  if (off > 1) {  // the >2 GB form: bytes outside the flatbuffer
    uint64_t n = m.bytes.size();
    if (src.custom_options() != nullptr || size > n || off > n - size) {
      return InvalidArgument(m.label + ": " + where + ": large_custom_options offset " +
                             std::to_string(off) + " size " + std::to_string(size) +
                             (src.custom_options() != nullptr
                                  ? " given beside inline custom_options"
                                  : " lies outside the file's " + std::to_string(n) + " bytes"));
    }
    TTE_RETURN_IF_ERROR(c.Charge(size, where + " large_custom_options"));
    op->custom_options.assign(m.bytes.begin() + static_cast<ptrdiff_t>(off),
                              m.bytes.begin() + static_cast<ptrdiff_t>(off + size));
  }
  return Status::Ok();
}

Status ReadTensor(const fb::Tensor& src, Tensor* t, Copier& c, const std::string& where) {
  TTE_RETURN_IF_ERROR(c.Charge(1, where));
  TTE_RETURN_IF_ERROR(c.Vec(src.shape(), &t->shape, where + " shape"));
  TTE_RETURN_IF_ERROR(
      c.Vec(src.shape_signature(), &t->shape_signature, where + " shape_signature"));
  t->type = static_cast<TensorType>(src.type());
  t->buffer = src.buffer();
  TTE_RETURN_IF_ERROR(c.Str(src.name(), &t->name, where + " name"));
  if (const fb::QuantizationParameters* q = src.quantization()) {
    t->has_quantization = true;
    Quantization& d = t->quantization;
    TTE_RETURN_IF_ERROR(c.Vec(q->min(), &d.min, where + " quantization.min"));
    TTE_RETURN_IF_ERROR(c.Vec(q->max(), &d.max, where + " quantization.max"));
    TTE_RETURN_IF_ERROR(c.Vec(q->scale(), &d.scale, where + " quantization.scale"));
    TTE_RETURN_IF_ERROR(c.Vec(q->zero_point(), &d.zero_point, where + " quantization.zero_point"));
    d.quantized_dimension = q->quantized_dimension();
    d.details_type = static_cast<uint8_t>(q->details_type());
  }
  t->is_variable = src.is_variable();
  t->has_rank = src.has_rank();
  t->sparse = src.sparsity() != nullptr;
  t->variant_tensors = src.variant_tensors() != nullptr && src.variant_tensors()->size() > 0;
  t->external_buffer = src.external_buffer();
  return Status::Ok();
}

Status ReadBuffers(const fb::Model& model, ModelFile* m, Copier& c) {
  const auto* buffers = model.buffers();
  if (buffers == nullptr) return Status::Ok();
  TTE_RETURN_IF_ERROR(c.Charge(buffers->size(), "buffers"));
  m->buffers.resize(buffers->size());
  const uint64_t n = m->bytes.size();
  for (uint32_t i = 0; i < buffers->size(); ++i) {
    const fb::Buffer* b = buffers->Get(i);
    Buffer& d = m->buffers[i];
    if (b->data() != nullptr) {
      d.offset = static_cast<uint64_t>(b->data()->data() - m->bytes.data());
      d.size = b->data()->size();
    }
    if (b->offset() > 1) {  // the >2 GB form
      std::string where = m->label + ": buffer " + std::to_string(i) + ": offset " +
                          std::to_string(b->offset()) + " size " + std::to_string(b->size());
      if (b->data() != nullptr && b->data()->size() > 0) {
        return InvalidArgument(where + " given beside inline data of " +
                               std::to_string(b->data()->size()) + " bytes");
      }
      if (b->size() > n || b->offset() > n - b->size()) {
        return InvalidArgument(where + " lies outside the file's " + std::to_string(n) + " bytes");
      }
      d.offset = b->offset();
      d.size = b->size();
      d.outside = true;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ModelFile> ParseModelFile(std::vector<uint8_t> bytes, const std::string& label) {
  const uint64_t n = bytes.size();
  if (n > kMaxFileBytes) {
    return InvalidArgument(label + ": file is " + std::to_string(n) + " bytes, more than the " +
                           std::to_string(kMaxFileBytes) + "-byte limit of the TFLite reader");
  }
  if (n < 8) {
    return InvalidArgument(label + ": file is " + std::to_string(n) +
                           " bytes: too short for a TFLite flatbuffer (root offset + 'TFL3')");
  }
  if (!fb::ModelBufferHasIdentifier(bytes.data())) {
    std::string id;
    for (int i = 4; i < 8; ++i) {
      unsigned ch = bytes[static_cast<size_t>(i)];
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", ch);
      id += (ch >= 32 && ch < 127) ? std::string(1, static_cast<char>(ch)) : std::string(hex);
    }
    return InvalidArgument(label + ": not a TFLite model: file identifier (bytes 4-7) is '" + id +
                           "', expected 'TFL3'");
  }
  fbs::Verifier::Options opts;
  opts.max_depth = kMaxDepth;
  opts.max_tables = static_cast<fbs::uoffset_t>(TableLimit(n));
  opts.check_alignment = true;
  fbs::Verifier verifier(bytes.data(), bytes.size(), opts);
  if (!fb::VerifyModelBuffer(verifier)) {
    return InvalidArgument(
        label + ": malformed TFLite flatbuffer: flatbuffers' Verifier rejects the " +
        std::to_string(n) +
        "-byte file (an offset or length outside the file, a misaligned or "
        "unterminated field, nesting deeper than " +
        std::to_string(kMaxDepth) + " or more than " + std::to_string(TableLimit(n)) + " tables)");
  }

  ModelFile m;
  m.label = label;
  m.bytes = std::move(bytes);
  const fb::Model* model = fb::GetModel(m.bytes.data());
  Copier c(m.label, n);
  m.version = model->version();
  TTE_RETURN_IF_ERROR(c.Str(model->description(), &m.description, "description"));
  if (const auto* codes = model->operator_codes()) {
    TTE_RETURN_IF_ERROR(c.Charge(codes->size(), "operator_codes"));
    m.operator_codes.resize(codes->size());
    for (uint32_t i = 0; i < codes->size(); ++i) {
      const fb::OperatorCode* src = codes->Get(i);
      OperatorCode& d = m.operator_codes[i];
      d.builtin_code = std::max<int32_t>(src->deprecated_builtin_code(), src->builtin_code());
      TTE_RETURN_IF_ERROR(c.Str(src->custom_code(), &d.custom_code,
                                "operator_codes[" + std::to_string(i) + "] custom_code"));
      d.version = src->version();
    }
  }
  if (const auto* subgraphs = model->subgraphs()) {
    TTE_RETURN_IF_ERROR(c.Charge(subgraphs->size(), "subgraphs"));
    m.subgraphs.resize(subgraphs->size());
    for (uint32_t s = 0; s < subgraphs->size(); ++s) {
      const fb::SubGraph* src = subgraphs->Get(s);
      SubGraph& g = m.subgraphs[s];
      std::string sg = "subgraph " + std::to_string(s);
      if (const auto* tensors = src->tensors()) {
        TTE_RETURN_IF_ERROR(c.Charge(tensors->size(), sg + " tensors"));
        g.tensors.resize(tensors->size());
        for (uint32_t i = 0; i < tensors->size(); ++i) {
          TTE_RETURN_IF_ERROR(
              ReadTensor(*tensors->Get(i), &g.tensors[i], c, sg + " tensor " + std::to_string(i)));
        }
      }
      TTE_RETURN_IF_ERROR(c.Vec(src->inputs(), &g.inputs, sg + " inputs"));
      TTE_RETURN_IF_ERROR(c.Vec(src->outputs(), &g.outputs, sg + " outputs"));
      if (const auto* ops = src->operators()) {
        TTE_RETURN_IF_ERROR(c.Charge(ops->size(), sg + " operators"));
        g.operators.resize(ops->size());
        for (uint32_t i = 0; i < ops->size(); ++i) {
          TTE_RETURN_IF_ERROR(
              ReadOperator(*ops->Get(i), &g.operators[i], c, m, sg + " op " + std::to_string(i)));
        }
      }
      TTE_RETURN_IF_ERROR(c.Str(src->name(), &g.name, sg + " name"));
    }
  }
  TTE_RETURN_IF_ERROR(ReadBuffers(*model, &m, c));
  TTE_RETURN_IF_ERROR(c.Vec(model->metadata_buffer(), &m.metadata_buffer, "metadata_buffer"));
  if (const auto* meta = model->metadata()) {
    TTE_RETURN_IF_ERROR(c.Charge(meta->size(), "metadata"));
    m.metadata.resize(meta->size());
    for (uint32_t i = 0; i < meta->size(); ++i) {
      TTE_RETURN_IF_ERROR(c.Str(meta->Get(i)->name(), &m.metadata[i].name,
                                "metadata " + std::to_string(i) + " name"));
      m.metadata[i].buffer = meta->Get(i)->buffer();
    }
  }
  TTE_RETURN_IF_ERROR(ValidateModelFile(m));
  return m;
}

Result<ModelFile> ReadModelFile(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
  return ParseModelFile(std::move(bytes), path);
}

const char* TensorTypeName(TensorType t) {
  auto v = static_cast<int8_t>(t);
  if (v < fb::TensorType_MIN || v > fb::TensorType_MAX) return "unknown type";
  return fb::EnumNameTensorType(static_cast<fb::TensorType>(v));
}

const char* BuiltinOperatorName(int32_t code) {
  if (code < fb::BuiltinOperator_MIN || code > fb::BuiltinOperator_MAX) return "unknown operator";
  return fb::EnumNameBuiltinOperator(static_cast<fb::BuiltinOperator>(code));
}

const char* ActivationName(Activation a) {
  auto v = static_cast<int8_t>(a);
  if (v < fb::ActivationFunctionType_MIN || v > fb::ActivationFunctionType_MAX) {
    return "unknown activation";
  }
  return fb::EnumNameActivationFunctionType(static_cast<fb::ActivationFunctionType>(v));
}

}  // namespace tte::tflite
