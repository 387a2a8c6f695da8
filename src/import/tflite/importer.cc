// TFLite -> ir::Graph: model-level checks, tensors to values (layout, quantization), the op loop
// and TFLite's padding and activation-range arithmetic. The op builders are in import_ops.cc.
#include "import/tflite/importer.h"

#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "import/tflite/from_graph.h"
#include "import/tflite/importer_internal.h"

namespace tte::tflite {

AxisPadding ComputePadding(Padding padding, int64_t in, int64_t k, int64_t stride,
                           int64_t dilation) {
  AxisPadding p;
  if (in < 1 || k < 1 || stride < 1 || dilation < 1) return p;
  const int64_t span = (k - 1) * dilation + 1;
  if (padding == Padding::kSame) {
    p.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((p.out - 1) * stride + span - in, 0);
    p.before = total / 2;
    p.after = total - p.before;
  } else {
    p.out = in < span ? 0 : (in - span) / stride + 1;
  }
  return p;
}

bool ActivationRange(Activation a, float scale, int32_t zero, int* act_min, int* act_max) {
  bool ok = true;
  auto q = [&](float v) -> int32_t {
    const float r = std::round(v / scale);  // float32 division, half away from zero (TfLiteRound)
    // TFLite fails when round(v / scale) leaves int32; the sum with the zero point must fit too.
    const int64_t sum = zero + (r >= -2147483648.0f && r <= 2147483520.0f ? static_cast<int64_t>(r)
                                                                          : int64_t{1} << 40);
    if (sum < INT32_MIN || sum > INT32_MAX) {
      ok = false;
      return 0;
    }
    return static_cast<int32_t>(sum);
  };
  switch (a) {
    case Activation::kNone:
      *act_min = -128, *act_max = 127;
      return true;
    case Activation::kRelu:
      *act_min = std::max(-128, q(0.0f)), *act_max = 127;
      break;
    case Activation::kRelu6:
      *act_min = std::max(-128, q(0.0f)), *act_max = std::min(127, q(6.0f));
      break;
    case Activation::kReluN1To1:
      *act_min = std::max(-128, q(-1.0f)), *act_max = std::min(127, q(1.0f));
      break;
    default:
      return false;
  }
  return ok;
}

Result<ir::Graph> ImportModelFile(const ModelFile& m) {
  TTE_RETURN_IF_ERROR(ValidateModelFile(m));  // again: `m` may have been edited in memory
  if (m.subgraphs.size() != 1) {
    return Unsupported(m.label + ": the model has " + std::to_string(m.subgraphs.size()) +
                       " subgraphs: only single-subgraph models (no control flow)");
  }
  return detail::Importer(m).Run();
}

Result<ir::Graph> ImportTflite(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(ModelFile m, ReadModelFile(path));
  return ImportModelFile(m);
}

namespace detail {
namespace {

std::string Lower(const char* s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string Shape(const std::vector<int32_t>& s) {
  return ShapeString(std::vector<int64_t>(s.begin(), s.end()));
}

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string Importer::Tensor(int t) const {
  return "tensor " + std::to_string(t) + " '" + T(t).name + "'";
}

Status Importer::OpError(const std::string& msg, StatusCode code) const {
  return Status(code, m_.label + ": op " + std::to_string(op_index_) + " " + op_name_ + ": " + msg);
}

bool Importer::IsConst(int t) const { return !m_.BufferData(T(t).buffer).empty(); }

Result<std::vector<int64_t>> Importer::ActivationShape(int t, const std::string& who) const {
  const tflite::Tensor& x = T(t);
  if (x.type != TensorType::kInt8) {
    const std::string type = Lower(TensorTypeName(x.type));
    if (x.type == TensorType::kFloat32 || x.type == TensorType::kFloat16 ||
        x.type == TensorType::kFloat64) {
      return Unsupported(who + " is " + type + ": only int8 models");
    }
    if (x.type == TensorType::kInt16) {
      return Unsupported(who + " is int16: only int8 activations (16x8 models are not supported)");
    }
    return Unsupported(who + " is " + type + ": only int8 activations");
  }
  if (x.sparse || x.external_buffer != 0 || x.variant_tensors) {
    return Unsupported(who + " is sparse, external or a variant: not supported");
  }
  if (x.is_variable) return Unsupported(who + " is a variable tensor: not supported");
  if (x.shape.size() != 4 && x.shape.size() != 2) {
    return Unsupported(who + " has shape " + Shape(x.shape) +
                       ": only [1,H,W,C] and [1,N] activations");
  }
  if (x.shape[0] != 1) {
    return Unsupported(who + " has batch " + std::to_string(x.shape[0]) + " (shape " +
                       Shape(x.shape) + "): only batch 1");
  }
  for (int32_t d : x.shape) {
    if (d < 1) return InvalidArgument(who + " has an empty dimension: shape " + Shape(x.shape));
  }
  for (size_t d = 1; d < x.shape_signature.size(); ++d) {
    if (x.shape_signature[d] == -1) {
      return Unsupported(who + " has a dynamic shape (shape_signature " + Shape(x.shape_signature) +
                         "): only static shapes (a -1 batch is allowed)");
    }
  }
  if (x.shape.size() == 2) return std::vector<int64_t>{x.shape[1], 1, 1};
  return std::vector<int64_t>{x.shape[3], x.shape[1], x.shape[2]};
}

Result<ir::Quant> Importer::ActivationQuant(int t, const std::string& who) const {
  const Quantization& q = T(t).quantization;
  if (q.details_type != 0) return Unsupported(who + " has quantization details: not supported");
  if (q.scale.empty()) {
    return InvalidArgument(who +
                           " has no quantization: int8 activations need a scale and zero point");
  }
  if (q.scale.size() != 1) {
    return Unsupported(who + " has " + std::to_string(q.scale.size()) +
                       " scales: activations are quantized per tensor");
  }
  if (!std::isfinite(q.scale[0]) || q.scale[0] <= 0) {
    return InvalidArgument(who + " has scale " + Num(q.scale[0]) +
                           ": not a positive finite number");
  }
  if (q.zero_point[0] < -128 || q.zero_point[0] > 127) {
    return InvalidArgument(who + " has zero point " + std::to_string(q.zero_point[0]) +
                           ", outside int8 [-128, 127]");
  }
  ir::Quant r;
  r.scale = {static_cast<double>(q.scale[0])};
  r.zero = {static_cast<int32_t>(q.zero_point[0])};
  return r;
}

Result<int> Importer::DataInput(size_t k) {
  const std::string role = "input " + std::to_string(k);
  if (k >= op_->inputs.size() || op_->inputs[k] < 0) return OpError(role + " is missing");
  const int t = op_->inputs[k];
  if (IsConst(t)) {
    return OpError(role + " (" + Tensor(t) + ") is a constant: tte takes only activations there",
                   StatusCode::kUnsupported);
  }
  if (value_of_[static_cast<size_t>(t)] < 0) {
    return OpError(role + " (" + Tensor(t) +
                   ") is not computed before this op (neither the model input nor an earlier "
                   "op's output)");
  }
  return value_of_[static_cast<size_t>(t)];
}

Result<int> Importer::Output(const std::vector<int64_t>& shape) {
  if (op_->outputs.size() != 1) {
    return OpError("has " + std::to_string(op_->outputs.size()) + " outputs, expected 1");
  }
  const int t = op_->outputs[0];
  const std::string who = m_.label + ": op " + std::to_string(op_index_) + " " + op_name_ +
                          ": output (" + Tensor(t) + ")";
  if (value_of_[static_cast<size_t>(t)] >= 0) {
    return InvalidArgument(who + " is already the model input or an earlier op's output");
  }
  if (IsConst(t)) return InvalidArgument(who + " is a constant");
  TTE_ASSIGN_OR_RETURN(std::vector<int64_t> got, ActivationShape(t, who));
  TTE_ASSIGN_OR_RETURN(ir::Quant quant, ActivationQuant(t, who));
  if (got != shape) {
    const tflite::Tensor& x = T(t);
    std::string want = x.shape.size() == 4 ? ShapeString({1, shape[1], shape[2], shape[0]})
                                           : ShapeString({1, shape[0] * shape[1] * shape[2]});
    return InvalidArgument(who + " has shape " + Shape(x.shape) + ", but the op computes " + want);
  }
  ir::Value v;
  v.name = T(t).name;
  v.dtype = DType::kInt8;
  v.shape = shape;
  v.quant = std::move(quant);
  v.source_tensor = t;
  const int id = graph_.AddValue(std::move(v));
  value_of_[static_cast<size_t>(t)] = id;
  return id;
}

Result<int> Importer::ConstInput(size_t k, TensorType type, size_t rank,
                                 const std::string& role) const {
  if (k >= op_->inputs.size() || op_->inputs[k] < 0) {
    return OpError(role + " (input " + std::to_string(k) + ") is missing");
  }
  const int t = op_->inputs[k];
  const tflite::Tensor& x = T(t);
  const std::string who = role + " (" + Tensor(t) + ")";
  if (x.sparse || x.external_buffer != 0) {
    return OpError(who + " is sparse or stored outside the file: not supported",
                   StatusCode::kUnsupported);
  }
  if (!IsConst(t)) return OpError(who + " is not a constant: tte needs it in the file");
  if (x.type != type) {
    return OpError(
        who + " is " + Lower(TensorTypeName(x.type)) + ", expected " + Lower(TensorTypeName(type)),
        StatusCode::kUnsupported);
  }
  if (rank != 0 && x.shape.size() != rank) {
    return OpError(who + " has shape " + Shape(x.shape) + ", expected " + std::to_string(rank) +
                   " dimensions");
  }
  for (int32_t d : x.shape) {
    if (d < 1) return OpError(who + " has an empty dimension: shape " + Shape(x.shape));
  }
  return t;
}

Result<ir::Quant> Importer::WeightQuant(int t, int q_dim, int64_t channels) const {
  const Quantization& q = T(t).quantization;
  const std::string who = "weights (" + Tensor(t) + ")";
  if (q.details_type != 0) {
    return OpError(who + " have quantization details: not supported", StatusCode::kUnsupported);
  }
  if (q.scale.empty()) return OpError(who + " have no quantization: int8 weights need scales");
  const bool per_tensor = q.scale.size() == 1;
  if (!per_tensor &&
      (static_cast<int64_t>(q.scale.size()) != channels || q.quantized_dimension != q_dim)) {
    return OpError(who + " have " + std::to_string(q.scale.size()) + " scales along dimension " +
                   std::to_string(q.quantized_dimension) + ": expected 1, or " +
                   std::to_string(channels) + " (the output channels) along dimension " +
                   std::to_string(q_dim));
  }
  ir::Quant r;
  for (size_t c = 0; c < q.scale.size(); ++c) {
    if (!std::isfinite(q.scale[c]) || q.scale[c] <= 0) {
      return OpError(who + " have scale " + Num(q.scale[c]) + " at channel " + std::to_string(c) +
                     ": not a positive finite number");
    }
    if (q.zero_point[c] != 0) {
      return OpError(who + " have zero point " + std::to_string(q.zero_point[c]) + " at channel " +
                     std::to_string(c) + ": TFLite's int8 weights are symmetric (zero point 0)");
    }
    r.scale.push_back(static_cast<double>(q.scale[c]));
    r.zero.push_back(0);
  }
  return r;
}

Result<int> Importer::Bias(size_t k, int64_t channels) {
  ir::Value v;
  v.dtype = DType::kInt32;
  v.shape = {channels};
  if (k >= op_->inputs.size() || op_->inputs[k] < 0) {
    TTE_RETURN_IF_ERROR(ChargeConstant(static_cast<uint64_t>(channels) * 4));
    v.name = "op " + std::to_string(op_index_) + " bias (none in the file: zeros)";
    v.data.assign(static_cast<size_t>(channels) * 4, 0);
    return graph_.AddValue(std::move(v));
  }
  const int t = op_->inputs[k];
  if (T(t).type == TensorType::kInt64) {
    return OpError("bias (" + Tensor(t) + ") is int64: 16x8 models are not supported",
                   StatusCode::kUnsupported);
  }
  TTE_ASSIGN_OR_RETURN(int b, ConstInput(k, TensorType::kInt32, 0, "bias"));
  const tflite::Tensor& x = T(b);
  int64_t n = 1;
  for (int32_t d : x.shape) n *= d;
  if (n != channels) {
    return OpError("bias (" + Tensor(b) + ") has " + std::to_string(n) + " values for " +
                   std::to_string(channels) + " output channels of the weights");
  }
  const size_t scales = x.quantization.scale.size();
  if (scales > 1 && static_cast<int64_t>(scales) != channels) {
    return OpError("bias (" + Tensor(b) + ") has " + std::to_string(scales) + " scales for " +
                   std::to_string(channels) + " output channels of the weights");
  }
  TTE_RETURN_IF_ERROR(ChargeConstant(static_cast<uint64_t>(channels) * 4));
  v.name = x.name;
  v.source_tensor = b;
  std::span<const uint8_t> d = m_.BufferData(x.buffer);
  v.data.assign(d.begin(), d.end());
  return graph_.AddValue(std::move(v));
}

Status Importer::ChargeConstant(uint64_t bytes) {
  const uint64_t budget = ImportConstantBudget(m_.bytes.size());
  constant_bytes_ += bytes;
  if (constant_bytes_ > budget) {
    return OpError("the ops' constants (weights, biases) come to more than " +
                   std::to_string(budget) + " bytes in tte's layout, 4 x the file's " +
                   std::to_string(m_.bytes.size()) +
                   " bytes + 1 MiB (one weight tensor or buffer used by many ops?)");
  }
  return Status::Ok();
}

Status Importer::SetActivation(Activation a, int y_tensor, ir::Node* n) const {
  const Quantization& q = T(y_tensor).quantization;
  if (!ActivationRange(a, q.scale[0], static_cast<int32_t>(q.zero_point[0]), &n->act_min,
                       &n->act_max)) {
    const int code = static_cast<int>(a);
    if (code >= 0 && code <= 3) {
      return OpError(std::string("fused activation ") + ActivationName(a) +
                     " overflows int32 at output scale " + Num(q.scale[0]));
    }
    return OpError(std::string("fused activation ") + ActivationName(a) + " (code " +
                       std::to_string(code) + ") is not supported",
                   StatusCode::kUnsupported);
  }
  return Status::Ok();
}

Status Importer::CheckQuantEqual(int a, int b, const char* why) const {
  const Quantization& p = T(a).quantization;
  const Quantization& q = T(b).quantization;
  if (std::memcmp(&p.scale[0], &q.scale[0], sizeof(float)) != 0 ||
      p.zero_point[0] != q.zero_point[0]) {
    return OpError("input scale " + Num(p.scale[0]) + " zero point " +
                       std::to_string(p.zero_point[0]) + " and output scale " + Num(q.scale[0]) +
                       " zero point " + std::to_string(q.zero_point[0]) + " differ: " + why,
                   StatusCode::kUnsupported);
  }
  return Status::Ok();
}

int Importer::NewNode(ir::Node n) {
  n.source_op = op_index_;
  const int y = op_->outputs[0];
  n.name = "op " + std::to_string(op_index_) + " " + op_name_ + " (" + T(y).name + ")";
  return graph_.AddNode(std::move(n));
}

Result<ir::Graph> Importer::Run() {
  graph_.source = m_.label;
  graph_.format = "tflite";
  graph_.requant = ir::Requant::kTfliteInteger;
  value_of_.assign(g_.tensors.size(), -1);
  if (g_.inputs.size() != 1 || g_.outputs.size() != 1) {
    return Unsupported(m_.label + ": the model has " + std::to_string(g_.inputs.size()) +
                       " inputs and " + std::to_string(g_.outputs.size()) +
                       " outputs: only one of each");
  }
  const int in = g_.inputs[0];
  const std::string who = m_.label + ": input tensor '" + T(in).name + "'";
  TTE_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ActivationShape(in, who));
  TTE_ASSIGN_OR_RETURN(ir::Quant quant, ActivationQuant(in, who));
  if (IsConst(in)) return InvalidArgument(who + " is a constant");
  ir::InputSpec& spec = graph_.input_spec;
  spec.c = static_cast<int>(shape[0]), spec.h = static_cast<int>(shape[1]),
  spec.w = static_cast<int>(shape[2]);
  spec.scale = quant.scale[0];
  spec.zero = quant.zero[0];
  spec.pixels = spec.scale == 1.0 ? ir::PixelRule::kMinus128 : ir::PixelRule::kScaleZero;
  spec.source_nhwc = true;
  ir::Value v;
  v.name = T(in).name;
  v.shape = shape;
  v.quant = std::move(quant);
  v.source_tensor = in;
  graph_.input = graph_.AddValue(std::move(v));
  value_of_[static_cast<size_t>(in)] = graph_.input;

  if (g_.operators.empty()) return InvalidArgument(m_.label + ": subgraph 0 has no operators");
  for (size_t i = 0; i < g_.operators.size(); ++i) {
    op_index_ = static_cast<int>(i);
    op_ = &g_.operators[i];
    op_name_ = m_.OpName(*op_);
    const int32_t code = m_.operator_codes[op_->opcode_index].builtin_code;
    if (op_->outputs.size() != 1) {
      return OpError("has " + std::to_string(op_->outputs.size()) + " outputs, expected 1");
    }
    Status s;
    switch (code) {
      case kConv2d:
        s = Conv2d();
        break;
      case kDepthwiseConv2d:
        s = DepthwiseConv2d();
        break;
      case kFullyConnected:
        s = FullyConnected();
        break;
      case kAdd:
        s = Add();
        break;
      case kAveragePool2d:
        s = AveragePool2d();
        break;
      case kMean:
        s = Mean();
        break;
      case kReshape:
        s = Reshape(false);
        break;
      case kSqueeze:
        s = Reshape(true);
        break;
      case kPad:
        s = Pad();
        break;
      case kSoftmax:
        s = Softmax();
        break;
      default:
        return Unsupported(m_.label + ": op " + std::to_string(i) + " " + op_name_ +
                           " is not supported");
    }
    TTE_RETURN_IF_ERROR(s);
  }
  const int out = g_.outputs[0];
  if (value_of_[static_cast<size_t>(out)] < 0 || out == in) {
    return InvalidArgument(m_.label + ": output " + Tensor(out) + " is not computed by any op");
  }
  graph_.output = value_of_[static_cast<size_t>(out)];
  // Class names a tte export stored (from_graph.h), if they name every output.
  for (const Metadata& md : m_.metadata) {
    if (md.name != kClassNamesMetadata) continue;
    std::vector<std::string> names = ParseClassNames(m_.BufferData(md.buffer));
    if (static_cast<int64_t>(names.size()) == graph_.value(graph_.output).numel()) graph_.class_names = std::move(names);
  }
  for (const Metadata& md : m_.metadata) {  // a .pkl exported by tte: pixels as q = p - 128
    std::span<const uint8_t> d = m_.BufferData(md.buffer);
    if (md.name == kPixelRuleMetadata && std::string(d.begin(), d.end()) == "minus128")
      graph_.input_spec.pixels = ir::PixelRule::kMinus128;
  }
  TTE_RETURN_IF_ERROR(ir::Verify(graph_));
  return std::move(graph_);
}

}  // namespace detail
}  // namespace tte::tflite
