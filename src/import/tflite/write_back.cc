// An edited ir::Graph written back into its .tflite file (see write_back.h).
#include "import/tflite/write_back.h"

#include <algorithm>
#include <cstring>
#include <variant>

#include "import/tflite/from_graph.h"
#include "import/tflite/importer.h"
#include "import/tflite/writer.h"

namespace tte::tflite {
namespace {

class WriteBacker {
 public:
  WriteBacker(const ModelFile& m, const ir::Graph& g) : orig_(m), m_(m), g_(g) {}
  Result<WriteBackResult> Run();

 private:
  SubGraph& sg() { return m_.subgraphs[0]; }
  Tensor& T(int t) { return sg().tensors[static_cast<size_t>(t)]; }
  Status Err(const ir::Node& n, const std::string& msg) const {
    return InvalidArgument(m_.label + ": op " + std::to_string(n.source_op) + " ('" + n.name +
                           "'): " + msg);
  }
  // Sets the data of tensor t (a new buffer if its buffer is shared or the sentinel), if it
  // differs.
  void SetData(int t, std::vector<uint8_t> data) {
    const uint32_t b = T(t).buffer;
    std::span<const uint8_t> old = m_.BufferData(b);
    if (b != 0 && old.size() == data.size() &&
        (data.empty() || std::memcmp(old.data(), data.data(), data.size()) == 0))
      return;
    if (b == 0 || users_[b] > 1) {
      if (b != 0) --users_[b];
      m_.buffers.emplace_back();
      T(t).buffer = static_cast<uint32_t>(m_.buffers.size() - 1);
      users_.push_back(1);
      ++result_.new_buffers;
      tables_changed_ = true;
    } else {
      if (old.size() != data.size()) tables_changed_ = true;  // a size change needs a rebuild
      if (b < orig_.buffers.size()) changed_.push_back(b);
    }
    m_.SetBufferData(T(t).buffer, std::move(data));
  }
  void SetShape(int t, std::vector<int32_t> shape) {
    if (T(t).shape == shape) return;
    T(t).shape = shape;
    if (!T(t).shape_signature.empty()) T(t).shape_signature = shape;
    tables_changed_ = true;
  }
  void SetQuant(int t, const std::vector<float>& scale, const std::vector<int64_t>& zero,
                int32_t q_dim) {
    Quantization& q = T(t).quantization;
    if (scale.size() == 1)
      q_dim = q.quantized_dimension;  // per tensor: the dimension means nothing, keep the file's
    if (T(t).has_quantization && q.scale.size() == scale.size() && q.zero_point == zero &&
        q.quantized_dimension == q_dim &&
        (scale.empty() ||
         std::memcmp(q.scale.data(), scale.data(), scale.size() * sizeof(float)) == 0))
      return;
    T(t).has_quantization = true;
    q.scale = scale;
    q.zero_point = zero;
    q.quantized_dimension = q_dim;
    q.min.clear();
    q.max.clear();
    tables_changed_ = true;
  }
  // The activation tensor t holding value v: shape in the tensor's own rank, quantization.
  void SetActivation(int t, const ir::Value& v) {
    const std::vector<int32_t>& old = T(t).shape;
    std::vector<int32_t> shape = old.size() == 4
                                     ? std::vector<int32_t>{1, static_cast<int32_t>(v.shape[1]),
                                                            static_cast<int32_t>(v.shape[2]),
                                                            static_cast<int32_t>(v.shape[0])}
                                     : std::vector<int32_t>{1, static_cast<int32_t>(v.numel())};
    SetShape(t, std::move(shape));
    SetQuant(t, {static_cast<float>(v.quant.scale[0])}, {v.quant.zero[0]}, 0);
  }
  Status WeightsNode(const ir::Node& n);
  Status OtherNode(const ir::Node& n);

  const ModelFile& orig_;
  ModelFile m_;
  const ir::Graph& g_;
  std::vector<int> users_;  // tensors per buffer
  std::vector<uint32_t> changed_;
  bool tables_changed_ = false;
  WriteBackResult result_;
};

Status WriteBacker::WeightsNode(const ir::Node& n) {
  Operator& op = sg().operators[static_cast<size_t>(n.source_op)];
  const ir::Value& x = g_.value(n.inputs[0]);
  const ir::Value& w = g_.value(n.inputs[1]);
  const ir::Value& b = g_.value(n.inputs[2]);
  const ir::Value& y = g_.value(n.outputs[0]);
  if (op.inputs.size() < 2 || op.inputs[1] < 0) return Err(n, "the file's op has no weights");
  const int wt = op.inputs[1];
  const int64_t O = w.shape[0], I = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
  int32_t q_dim = 0;
  switch (n.op) {
    case ir::OpKind::kConv2d:
      SetShape(wt, {i32(O), i32(KH), i32(KW), i32(I)});
      SetData(wt, OihwToOhwi(w.data, O, I, KH, KW));
      break;
    case ir::OpKind::kDepthwiseConv2d:
      q_dim = 3;
      SetShape(wt, {1, i32(KH), i32(KW), i32(O)});
      SetData(wt, OihwToOhwi(w.data, 1, O, KH * KW, 1));
      break;
    default:
      SetShape(wt, {i32(O), i32(x.numel())});
      SetData(wt, ChwColumnsToNhwc(w.data, O, x.shape[0], x.shape[1], x.shape[2]));
      break;
  }
  std::vector<float> ws, bs;
  for (double s : w.quant.scale) {
    ws.push_back(static_cast<float>(s));
    bs.push_back(static_cast<float>(x.quant.scale[0] * s));
  }
  const bool weights_requantized =
      !T(wt).has_quantization || T(wt).quantization.scale.size() != ws.size() ||
      std::memcmp(T(wt).quantization.scale.data(), ws.data(), ws.size() * sizeof(float)) != 0;
  SetQuant(wt, ws, std::vector<int64_t>(ws.size(), 0), q_dim);
  // The bias.
  int bt = op.inputs.size() > 2 ? op.inputs[2] : -1;
  bool zero_bias = true;
  for (uint8_t v : b.data) zero_bias = zero_bias && v == 0;
  if (bt < 0 && !zero_bias) {  // the file has none: a new int32 tensor
    Tensor t;
    t.name = g_.value(n.outputs[0]).name + "/bias";
    t.type = TensorType::kInt32;
    sg().tensors.push_back(std::move(t));
    bt = static_cast<int>(sg().tensors.size()) - 1;
    op.inputs.resize(3, -1);
    op.inputs[2] = bt;
    tables_changed_ = true;
    SetQuant(bt, bs, std::vector<int64_t>(bs.size(), 0), 0);
  }
  if (bt >= 0) {
    SetShape(bt, {i32(b.numel())});
    SetData(bt, b.data);
    if (weights_requantized) SetQuant(bt, bs, std::vector<int64_t>(bs.size(), 0), 0);
  }
  // The output, and the fused activation that gives the node's range at its quantization.
  SetActivation(op.outputs[0], y);
  Activation act;
  const Activation* cur = nullptr;
  if (auto* o = std::get_if<Conv2dOptions>(&op.options)) cur = &o->activation;
  if (auto* o = std::get_if<DepthwiseConv2dOptions>(&op.options)) cur = &o->activation;
  if (auto* o = std::get_if<FullyConnectedOptions>(&op.options)) cur = &o->activation;
  int lo = 0, hi = 0;
  if (cur &&
      ActivationRange(*cur, static_cast<float>(y.quant.scale[0]), y.quant.zero[0], &lo, &hi) &&
      lo == n.act_min && hi == n.act_max)
    return Status::Ok();  // the file's activation still gives the node's range
  if (!FusedActivationFor(n.act_min, n.act_max, static_cast<float>(y.quant.scale[0]),
                          y.quant.zero[0], &act))
    return Err(n, "activation range [" + std::to_string(n.act_min) + ", " +
                      std::to_string(n.act_max) +
                      "] is none of TFLite's fused activations at the output's quantization");
  auto set_act = [&](auto* o) {
    if (o && o->activation != act) {
      o->activation = act;
      tables_changed_ = true;
    }
  };
  set_act(std::get_if<Conv2dOptions>(&op.options));
  set_act(std::get_if<DepthwiseConv2dOptions>(&op.options));
  set_act(std::get_if<FullyConnectedOptions>(&op.options));
  return Status::Ok();
}

Status WriteBacker::OtherNode(const ir::Node& n) {
  Operator& op = sg().operators[static_cast<size_t>(n.source_op)];
  const ir::Value& y = g_.value(n.outputs[0]);
  const int yt = op.outputs[0];
  const std::vector<int32_t> before = T(yt).shape;
  SetActivation(yt, y);
  if (n.op == ir::OpKind::kReshape && T(yt).shape != before) {  // a reshape after a resized head
    if (auto* o = std::get_if<ReshapeOptions>(&op.options); o && !o->new_shape.empty())
      o->new_shape = T(yt).shape;
    if (op.inputs.size() > 1 && op.inputs[1] >= 0 && T(op.inputs[1]).type == TensorType::kInt32 &&
        m_.BufferData(T(op.inputs[1]).buffer).size() == T(yt).shape.size() * 4) {
      std::vector<uint8_t> d(T(yt).shape.size() * 4);
      std::memcpy(d.data(), T(yt).shape.data(), d.size());
      SetData(op.inputs[1], std::move(d));
    }
  }
  return Status::Ok();
}

Result<WriteBackResult> WriteBacker::Run() {
  if (m_.subgraphs.size() != 1) return InvalidArgument(m_.label + ": not a single-subgraph model");
  users_.assign(m_.buffers.size(), 0);
  for (const Tensor& t : sg().tensors)
    if (t.buffer < users_.size()) ++users_[t.buffer];
  for (const ir::Node& n : g_.nodes) {
    if (n.source_op < 0 || static_cast<size_t>(n.source_op) >= sg().operators.size())
      return InvalidArgument(
          m_.label + ": node '" + n.name +
          "' did not come from this file: the graph cannot be written back into it");
    const bool weights = n.op == ir::OpKind::kConv2d || n.op == ir::OpKind::kDepthwiseConv2d ||
                         n.op == ir::OpKind::kFullyConnected;
    TTE_RETURN_IF_ERROR(weights ? WeightsNode(n) : OtherNode(n));
  }
  if (!g_.class_names.empty()) {
    TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> names, ClassNamesBytes(g_.class_names));
    bool found = false;
    for (const Metadata& md : m_.metadata) {
      if (md.name != kClassNamesMetadata) continue;
      found = true;
      std::span<const uint8_t> old = m_.BufferData(md.buffer);
      if (old.size() == names.size() && std::equal(old.begin(), old.end(), names.begin())) break;
      if (old.size() != names.size()) tables_changed_ = true;
      if (md.buffer < orig_.buffers.size()) changed_.push_back(md.buffer);
      m_.SetBufferData(md.buffer, names);
      break;
    }
    if (!found) {
      m_.AddMetadata(kClassNamesMetadata, std::move(names));
      ++result_.new_buffers;
      tables_changed_ = true;
    }
  }
  std::sort(changed_.begin(), changed_.end());
  changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
  result_.changed_buffers = changed_;
  if (!tables_changed_) {
    std::vector<BufferReplacement> r;
    for (uint32_t b : changed_) {
      std::span<const uint8_t> d = m_.BufferData(b);
      r.push_back({b, std::vector<uint8_t>(d.begin(), d.end())});
    }
    TTE_ASSIGN_OR_RETURN(result_.bytes, ReplaceBuffers(orig_, r));
    result_.in_place = true;
  } else {
    TTE_RETURN_IF_ERROR(CheckWritable(m_));
    TTE_ASSIGN_OR_RETURN(result_.bytes, WriteModelFile(m_));
  }
  return std::move(result_);
}

}  // namespace

Result<WriteBackResult> WriteBack(const ModelFile& m, const ir::Graph& g) {
  return WriteBacker(m, g).Run();
}

}  // namespace tte::tflite
