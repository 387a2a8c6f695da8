// Semantic checks of a ModelFile (indices, shapes, buffer sizes, quantization arrays) and the small
// ModelFile helpers: buffer access, metadata, names, structural comparison.
#include <cstring>
#include <string>

#include "core/tensor.h"
#include "import/tflite/model_file.h"

namespace tte::tflite {
namespace {

std::string Shape(const std::vector<int32_t>& s) {
  std::vector<int64_t> v(s.begin(), s.end());
  return ShapeString(v);
}

std::string TensorWhere(const ModelFile& m, size_t sg, size_t i, const Tensor& t) {
  return m.label + ": subgraph " + std::to_string(sg) + " tensor " + std::to_string(i) + " '" +
         t.name + "'";
}

// "<where> refers to tensor 99, but there are 15 tensors"
Status CheckIndex(int64_t index, size_t count, bool optional, const std::string& where,
                  const std::string& noun) {
  if (optional && index == -1) return Status::Ok();
  if (index < 0 || static_cast<uint64_t>(index) >= count) {
    return InvalidArgument(where + " refers to " + noun + " " + std::to_string(index) +
                           ", but there are " + std::to_string(count) + " " + noun + "s");
  }
  return Status::Ok();
}

Status ValidateTensor(const ModelFile& m, size_t sg, size_t i, const Tensor& t) {
  const std::string where = TensorWhere(m, sg, i, t);
  if (static_cast<int8_t>(t.type) < 0 || t.type > TensorType::kFloat8E5M2) {
    return InvalidArgument(where + ": type code " + std::to_string(static_cast<int>(t.type)) +
                           " is not a TFLite TensorType");
  }
  if (t.shape.size() > static_cast<size_t>(kMaxRank)) {
    return InvalidArgument(where + ": shape " + Shape(t.shape) + " has " +
                           std::to_string(t.shape.size()) + " dimensions, more than " +
                           std::to_string(kMaxRank));
  }
  int64_t numel = 1;
  for (int32_t d : t.shape) {
    if (d < 0 || d > kMaxDim) {
      return InvalidArgument(where + ": shape " + Shape(t.shape) + ": dimension " +
                             std::to_string(d) + " is outside [0, " + std::to_string(kMaxDim) +
                             "]");
    }
    numel *= d;  // <= kMaxElements * kMaxDim before the check below: no overflow
    if (numel > kMaxElements) {
      return InvalidArgument(where + ": shape " + Shape(t.shape) + " has more than " +
                             std::to_string(kMaxElements) + " elements");
    }
  }
  if (!t.shape_signature.empty()) {
    if (t.shape_signature.size() != t.shape.size()) {
      return InvalidArgument(where + ": shape_signature " + Shape(t.shape_signature) +
                             " and shape " + Shape(t.shape) + " differ in rank");
    }
    for (size_t d = 0; d < t.shape.size(); ++d) {
      int32_t s = t.shape_signature[d];
      if (s != -1 && s != t.shape[d]) {
        return InvalidArgument(where + ": shape_signature " + Shape(t.shape_signature) +
                               " disagrees with shape " + Shape(t.shape) + " in dimension " +
                               std::to_string(d));
      }
    }
  }
  if (t.buffer != 0 || !m.buffers.empty()) {
    TTE_RETURN_IF_ERROR(CheckIndex(t.buffer, m.buffers.size(), false, where, "buffer"));
  }
  const uint64_t bytes = t.buffer < m.buffers.size() ? m.BufferData(t.buffer).size() : 0;
  const int64_t need = DenseBytes(t.type, numel);
  if (bytes > 0 && need >= 0 && bytes != static_cast<uint64_t>(need)) {
    return InvalidArgument(where + ": buffer " + std::to_string(t.buffer) + " holds " +
                           std::to_string(bytes) + " bytes, " + Shape(t.shape) + " x " +
                           TensorTypeName(t.type) + " needs " + std::to_string(need));
  }
  const Quantization& q = t.quantization;
  if (!q.scale.empty()) {
    if (q.zero_point.size() != q.scale.size()) {
      return InvalidArgument(where + ": quantization has " + std::to_string(q.scale.size()) +
                             " scales and " + std::to_string(q.zero_point.size()) + " zero points");
    }
    if (q.scale.size() > 1) {
      if (q.quantized_dimension < 0 ||
          static_cast<size_t>(q.quantized_dimension) >= t.shape.size()) {
        return InvalidArgument(where + ": quantized_dimension " +
                               std::to_string(q.quantized_dimension) + " is not an axis of " +
                               Shape(t.shape));
      }
      if (t.shape[static_cast<size_t>(q.quantized_dimension)] !=
          static_cast<int64_t>(q.scale.size())) {
        return InvalidArgument(
            where + ": " + std::to_string(q.scale.size()) + " per-channel scales, but dimension " +
            std::to_string(q.quantized_dimension) + " of " + Shape(t.shape) + " is " +
            std::to_string(t.shape[static_cast<size_t>(q.quantized_dimension)]));
      }
    }
  }
  if (!q.min.empty() && !q.max.empty() && q.min.size() != q.max.size()) {
    return InvalidArgument(where + ": quantization has " + std::to_string(q.min.size()) +
                           " min values and " + std::to_string(q.max.size()) + " max values");
  }
  return Status::Ok();
}

Status ValidateOperator(const ModelFile& m, size_t sg, size_t i, const Operator& op) {
  const SubGraph& g = m.subgraphs[sg];
  std::string where = m.label + ": subgraph " + std::to_string(sg) + " op " + std::to_string(i);
  TTE_RETURN_IF_ERROR(
      CheckIndex(op.opcode_index, m.operator_codes.size(), false, where, "operator code"));
  where += " " + m.OpName(op);
  for (size_t k = 0; k < op.inputs.size(); ++k) {
    TTE_RETURN_IF_ERROR(CheckIndex(op.inputs[k], g.tensors.size(), true,
                                   where + ": input " + std::to_string(k), "tensor"));
  }
  for (size_t k = 0; k < op.outputs.size(); ++k) {
    TTE_RETURN_IF_ERROR(CheckIndex(op.outputs[k], g.tensors.size(), false,
                                   where + ": output " + std::to_string(k), "tensor"));
  }
  for (size_t k = 0; k < op.intermediates.size(); ++k) {
    TTE_RETURN_IF_ERROR(CheckIndex(op.intermediates[k], g.tensors.size(), false,
                                   where + ": intermediate " + std::to_string(k), "tensor"));
  }
  if (!op.mutating_variable_inputs.empty() &&
      op.mutating_variable_inputs.size() != op.inputs.size()) {
    return InvalidArgument(where + ": mutating_variable_inputs has " +
                           std::to_string(op.mutating_variable_inputs.size()) + " entries for " +
                           std::to_string(op.inputs.size()) + " inputs");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateModelFile(const ModelFile& m) {
  if (!m.buffers.empty() && m.BufferData(0).size() != 0) {
    return InvalidArgument(m.label + ": buffer 0 holds " + std::to_string(m.BufferData(0).size()) +
                           " bytes: it must be the empty sentinel buffer");
  }
  for (size_t i = 0; i < m.buffers.size(); ++i) {
    const Buffer& b = m.buffers[i];
    if (!b.owned && (b.size > m.bytes.size() || b.offset > m.bytes.size() - b.size)) {
      return InvalidArgument(m.label + ": buffer " + std::to_string(i) + ": bytes [" +
                             std::to_string(b.offset) + ", +" + std::to_string(b.size) +
                             ") lie outside the file's " + std::to_string(m.bytes.size()) +
                             " bytes");
    }
  }
  for (size_t i = 0; i < m.operator_codes.size(); ++i) {
    if (m.operator_codes[i].builtin_code < 0) {
      return InvalidArgument(m.label + ": operator_codes " + std::to_string(i) + ": builtin code " +
                             std::to_string(m.operator_codes[i].builtin_code) + " is negative");
    }
  }
  for (size_t i = 0; i < m.metadata.size(); ++i) {
    TTE_RETURN_IF_ERROR(CheckIndex(
        m.metadata[i].buffer, m.buffers.size(), false,
        m.label + ": metadata " + std::to_string(i) + " '" + m.metadata[i].name + "'", "buffer"));
  }
  for (size_t i = 0; i < m.metadata_buffer.size(); ++i) {
    TTE_RETURN_IF_ERROR(CheckIndex(m.metadata_buffer[i], m.buffers.size(), false,
                                   m.label + ": metadata_buffer entry " + std::to_string(i),
                                   "buffer"));
  }
  for (size_t s = 0; s < m.subgraphs.size(); ++s) {
    const SubGraph& g = m.subgraphs[s];
    const std::string where = m.label + ": subgraph " + std::to_string(s);
    for (size_t k = 0; k < g.inputs.size(); ++k) {
      TTE_RETURN_IF_ERROR(CheckIndex(g.inputs[k], g.tensors.size(), false,
                                     where + ": input " + std::to_string(k), "tensor"));
    }
    for (size_t k = 0; k < g.outputs.size(); ++k) {
      TTE_RETURN_IF_ERROR(CheckIndex(g.outputs[k], g.tensors.size(), false,
                                     where + ": output " + std::to_string(k), "tensor"));
    }
    for (size_t i = 0; i < g.tensors.size(); ++i) {
      TTE_RETURN_IF_ERROR(ValidateTensor(m, s, i, g.tensors[i]));
    }
    for (size_t i = 0; i < g.operators.size(); ++i) {
      TTE_RETURN_IF_ERROR(ValidateOperator(m, s, i, g.operators[i]));
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------ helpers

int64_t DenseBytes(TensorType t, int64_t numel) {
  switch (t) {
    case TensorType::kBool:
    case TensorType::kInt8:
    case TensorType::kUInt8:
    case TensorType::kFloat8E4M3:
    case TensorType::kFloat8E5M2:
      return numel;
    case TensorType::kFloat16:
    case TensorType::kInt16:
    case TensorType::kUInt16:
    case TensorType::kBFloat16:
      return numel * 2;
    case TensorType::kFloat32:
    case TensorType::kInt32:
    case TensorType::kUInt32:
      return numel * 4;
    case TensorType::kInt64:
    case TensorType::kUInt64:
    case TensorType::kFloat64:
    case TensorType::kComplex64:
      return numel * 8;
    case TensorType::kComplex128:
      return numel * 16;
    case TensorType::kInt4:
    case TensorType::kUInt4:
      return (numel + 1) / 2;
    case TensorType::kInt2:
      return (numel + 3) / 4;
    default:
      return -1;  // STRING, RESOURCE, VARIANT, unknown
  }
}

std::span<const uint8_t> ModelFile::BufferData(uint32_t index) const {
  if (index >= buffers.size()) return {};
  const Buffer& b = buffers[index];
  if (b.owned) return {b.data.data(), b.data.size()};
  if (b.size > bytes.size() || b.offset > bytes.size() - b.size) return {};
  return {bytes.data() + b.offset, static_cast<size_t>(b.size)};
}

void ModelFile::SetBufferData(uint32_t index, std::vector<uint8_t> data) {
  Buffer& b = buffers.at(index);
  b.owned = true;
  b.outside = false;
  b.offset = 0;
  b.size = data.size();
  b.data = std::move(data);
}

void ModelFile::AddMetadata(const std::string& name, std::vector<uint8_t> data) {
  if (buffers.empty()) buffers.emplace_back();  // the empty sentinel buffer 0
  buffers.emplace_back();
  SetBufferData(static_cast<uint32_t>(buffers.size() - 1), std::move(data));
  metadata.push_back({name, static_cast<uint32_t>(buffers.size() - 1)});
}

int ModelFile::AddConstantTensor(uint32_t sg, const std::string& name, std::vector<int32_t> shape, TensorType type,
                                 std::vector<uint8_t> data, std::vector<float> scales, int32_t q_dim) {
  buffers.emplace_back();
  const auto b = static_cast<uint32_t>(buffers.size() - 1);
  SetBufferData(b, std::move(data));
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.type = type;
  t.buffer = b;
  if (!scales.empty()) {
    t.has_quantization = true;
    t.quantization.zero_point.assign(scales.size(), 0);
    t.quantization.scale = std::move(scales);
    t.quantization.quantized_dimension = q_dim;
  }
  std::vector<Tensor>& tensors = subgraphs.at(sg).tensors;
  tensors.push_back(std::move(t));
  return static_cast<int>(tensors.size()) - 1;
}

std::string ModelFile::OpName(const Operator& op) const {
  if (op.opcode_index >= operator_codes.size()) return "(bad opcode)";
  const OperatorCode& c = operator_codes[op.opcode_index];
  if (c.builtin_code == kCustom) return "CUSTOM '" + c.custom_code + "'";
  const char* name = BuiltinOperatorName(c.builtin_code);
  if (std::strcmp(name, "unknown operator") == 0) {
    return "unknown operator (code " + std::to_string(c.builtin_code) + ")";
  }
  return name;
}

bool SoftmaxOptions::operator==(const SoftmaxOptions& o) const {
  return std::memcmp(&beta, &o.beta, sizeof beta) == 0;
}

namespace {
bool SameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}
}  // namespace

bool Quantization::operator==(const Quantization& o) const {
  return SameFloats(min, o.min) && SameFloats(max, o.max) && SameFloats(scale, o.scale) &&
         zero_point == o.zero_point && quantized_dimension == o.quantized_dimension &&
         details_type == o.details_type;
}

std::string FirstDifference(const ModelFile& a, const ModelFile& b) {
  if (a.version != b.version) return "version";
  if (a.description != b.description) return "description";
  if (a.operator_codes.size() != b.operator_codes.size()) return "operator_codes count";
  for (size_t i = 0; i < a.operator_codes.size(); ++i) {
    if (!(a.operator_codes[i] == b.operator_codes[i])) return "operator_codes " + std::to_string(i);
  }
  if (a.subgraphs.size() != b.subgraphs.size()) return "subgraphs count";
  for (size_t s = 0; s < a.subgraphs.size(); ++s) {
    const SubGraph& x = a.subgraphs[s];
    const SubGraph& y = b.subgraphs[s];
    const std::string sg = "subgraph " + std::to_string(s);
    if (x.tensors.size() != y.tensors.size()) return sg + " tensor count";
    for (size_t i = 0; i < x.tensors.size(); ++i) {
      const Tensor& t = x.tensors[i];
      const Tensor& u = y.tensors[i];
      const std::string w = sg + " tensor " + std::to_string(i);
      if (t.shape != u.shape) return w + " shape: " + Shape(t.shape) + " vs " + Shape(u.shape);
      if (t.shape_signature != u.shape_signature) return w + " shape_signature";
      if (t.type != u.type) return w + " type";
      if (t.buffer != u.buffer) return w + " buffer";
      if (t.name != u.name) return w + " name";
      if (t.has_quantization != u.has_quantization || !(t.quantization == u.quantization)) {
        return w + " quantization";
      }
      if (!(t == u)) return w + " flags";
    }
    if (x.inputs != y.inputs) return sg + " inputs";
    if (x.outputs != y.outputs) return sg + " outputs";
    if (x.operators.size() != y.operators.size()) return sg + " operator count";
    for (size_t i = 0; i < x.operators.size(); ++i) {
      const Operator& p = x.operators[i];
      const Operator& q = y.operators[i];
      const std::string w = sg + " op " + std::to_string(i);
      if (p.inputs != q.inputs || p.outputs != q.outputs) return w + " inputs/outputs";
      if (p.options_type != q.options_type || !(p.options == q.options)) return w + " options";
      if (!(p == q)) return w + " other fields";
    }
    if (x.name != y.name) return sg + " name";
  }
  if (a.buffers.size() != b.buffers.size()) return "buffer count";
  for (size_t i = 0; i < a.buffers.size(); ++i) {
    auto p = a.BufferData(static_cast<uint32_t>(i));
    auto q = b.BufferData(static_cast<uint32_t>(i));
    if (p.size() != q.size() || (!p.empty() && std::memcmp(p.data(), q.data(), p.size()) != 0)) {
      return "buffer " + std::to_string(i) + " data";
    }
  }
  if (a.metadata_buffer != b.metadata_buffer) return "metadata_buffer";
  if (a.metadata != b.metadata) return "metadata";
  return "";
}

}  // namespace tte::tflite
