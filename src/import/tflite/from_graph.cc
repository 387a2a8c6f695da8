// ir::Graph -> a complete TFLite model (see from_graph.h).
#include "import/tflite/from_graph.h"

#include <cstring>

#include "import/tflite/importer.h"

namespace tte::tflite {

Result<std::vector<uint8_t>> ClassNamesBytes(const std::vector<std::string>& names) {
  std::vector<uint8_t> out;
  for (const std::string& n : names) {
    if (n.find('\n') != std::string::npos)
      return InvalidArgument("class name '" + n +
                             "' contains a line break: it cannot be stored in " +
                             kClassNamesMetadata);
    out.insert(out.end(), n.begin(), n.end());
    out.push_back('\n');
  }
  return out;
}

std::vector<std::string> ParseClassNames(std::span<const uint8_t> bytes) {
  std::vector<std::string> names;
  std::string cur;
  for (uint8_t b : bytes) {
    if (b == '\n') {
      names.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(b));
    }
  }
  if (!cur.empty()) names.push_back(cur);
  return names;
}

ir::Graph WithTfliteArithmetic(const ir::Graph& g) {
  ir::Graph t = g;
  t.requant = ir::Requant::kTfliteInteger;
  for (ir::Node& n : t.nodes)
    n.global_pool = false;       // a global pool is a windowed pool of the whole H x W
  for (ir::Value& v : t.values)  // a TFLite file stores float32 scales (a .pkl may hold doubles)
    for (double& s : v.quant.scale) s = static_cast<double>(static_cast<float>(s));
  return t;
}

bool FusedActivationFor(int act_min, int act_max, float scale, int32_t zero, Activation* a) {
  for (Activation c :
       {Activation::kNone, Activation::kRelu, Activation::kRelu6, Activation::kReluN1To1}) {
    int lo = 0, hi = 0;
    if (ActivationRange(c, scale, zero, &lo, &hi) && lo == act_min && hi == act_max) {
      *a = c;
      return true;
    }
  }
  return false;
}

std::vector<uint8_t> OihwToOhwi(const std::vector<uint8_t>& w, int64_t O, int64_t I, int64_t KH,
                                int64_t KW) {
  std::vector<uint8_t> d(w.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t h = 0; h < KH; ++h)
        for (int64_t x = 0; x < KW; ++x)
          d[static_cast<size_t>(((o * KH + h) * KW + x) * I + i)] =
              w[static_cast<size_t>(((o * I + i) * KH + h) * KW + x)];
  return d;
}

std::vector<uint8_t> ChwColumnsToNhwc(const std::vector<uint8_t>& w, int64_t O, int64_t C,
                                      int64_t H, int64_t W) {
  std::vector<uint8_t> d(w.size());
  const int64_t n = C * H * W;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c)
          d[static_cast<size_t>(o * n + (h * W + x) * C + c)] =
              w[static_cast<size_t>(o * n + (c * H + h) * W + x)];
  return d;
}

namespace {

std::vector<uint8_t> Int32Bytes(const std::vector<int32_t>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

class FileBuilder {
 public:
  FileBuilder(const ir::Graph& g, const std::string& label) : g_(g) {
    m_.label = label;
    m_.version = 3;
    m_.description = "tte export of " + g.source;
    m_.buffers.emplace_back();  // the empty sentinel buffer 0
    m_.subgraphs.emplace_back();
    m_.subgraphs[0].name = "main";
    tensor_of_.assign(g.values.size(), -1);
  }

  Result<ModelFile> Run();

 private:
  SubGraph& sg() { return m_.subgraphs[0]; }
  Status Err(int node, const std::string& msg) const {
    const ir::Node& n = g_.nodes[static_cast<size_t>(node)];
    return Unsupported(m_.label + ": node " + std::to_string(node) + " " + ir::OpName(n.op) + " '" +
                       n.name + "': " + msg);
  }
  int Act(const std::string& name, std::vector<int32_t> shape, float scale, int64_t zero) {
    Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.type = TensorType::kInt8;
    t.has_quantization = true;
    t.quantization.scale = {scale};
    t.quantization.zero_point = {zero};
    sg().tensors.push_back(std::move(t));
    return static_cast<int>(sg().tensors.size()) - 1;
  }
  // The tensor of an activation value: [1,H,W,C], or [1,N] when `vector`.
  int ActOf(int value, bool vector) {
    if (tensor_of_[static_cast<size_t>(value)] >= 0) return tensor_of_[static_cast<size_t>(value)];
    const ir::Value& v = g_.value(value);
    std::vector<int32_t> shape = vector ? std::vector<int32_t>{1, static_cast<int32_t>(v.numel())}
                                        : std::vector<int32_t>{1, static_cast<int32_t>(v.shape[1]),
                                                               static_cast<int32_t>(v.shape[2]),
                                                               static_cast<int32_t>(v.shape[0])};
    const int t = Act(v.name.empty() ? "t" + std::to_string(value) : v.name, std::move(shape),
                      static_cast<float>(v.quant.scale[0]), v.quant.zero[0]);
    tensor_of_[static_cast<size_t>(value)] = t;
    return t;
  }
  int Const(const std::string& name, std::vector<int32_t> shape, TensorType type,
            std::vector<uint8_t> data, std::vector<float> scales = {}, int32_t q_dim = 0) {
    return m_.AddConstantTensor(0, name, std::move(shape), type, std::move(data), std::move(scales), q_dim);
  }
  void Op(int32_t code, int32_t version, std::vector<int32_t> in, std::vector<int32_t> out,
          BuiltinOptions options) {
    uint32_t k = 0;
    while (k < m_.operator_codes.size() && m_.operator_codes[k].builtin_code != code) ++k;
    if (k == m_.operator_codes.size()) m_.operator_codes.push_back({code, "", version});
    Operator op;
    op.opcode_index = k;
    op.inputs = std::move(in);
    op.outputs = std::move(out);
    // TFLite's BuiltinOptions union type codes of the options tte writes.
    static constexpr uint8_t kTypes[] = {0, 1, 2, 5, 8, 9, 11, 17, 22, 27, 30};
    op.options_type = kTypes[options.index()];
    op.options = std::move(options);
    sg().operators.push_back(std::move(op));
  }
  Result<Activation> Fused(int node) const {
    const ir::Node& n = g_.nodes[static_cast<size_t>(node)];
    const ir::Value& y = g_.value(n.outputs[0]);
    Activation a;
    if (!FusedActivationFor(n.act_min, n.act_max, static_cast<float>(y.quant.scale[0]),
                            y.quant.zero[0], &a))
      return Err(
          node, "activation range [" + std::to_string(n.act_min) + ", " +
                    std::to_string(n.act_max) +
                    "] is none of TFLite's fused activations at the output's scale and zero point");
    return a;
  }
  // Weights (int8, tte layout converted) and bias of a conv/FC node as TFLite tensors.
  std::pair<int, int> WeightsAndBias(const ir::Node& n, std::vector<int32_t> shape,
                                     std::vector<uint8_t> data, int32_t q_dim) {
    const ir::Value& w = g_.value(n.inputs[1]);
    const ir::Value& b = g_.value(n.inputs[2]);
    const double xs = g_.value(n.inputs[0]).quant.scale[0];
    std::vector<float> ws, bs;
    for (double s : w.quant.scale) {
      ws.push_back(static_cast<float>(s));
      bs.push_back(static_cast<float>(xs * s));
    }
    const int wt = Const(w.name, std::move(shape), TensorType::kInt8, std::move(data), ws, q_dim);
    const int bt =
        Const(b.name, {static_cast<int32_t>(b.numel())}, TensorType::kInt32, b.data, bs, 0);
    return {wt, bt};
  }
  // The input of a windowed op: the tensor itself (SAME/VALID fit) or a PAD op's output.
  Result<int> WindowInput(int node, Padding* padding);
  Status Node(int node);

  const ir::Graph& g_;
  ModelFile m_;
  std::vector<int> tensor_of_;
  int vector_out_ = -1;  // a value written as [1,N] (the classifier's output)
};

Result<int> FileBuilder::WindowInput(int node, Padding* padding) {
  const ir::Node& n = g_.nodes[static_cast<size_t>(node)];
  const ir::Window2d& w = n.window;
  const ir::Value& x = g_.value(n.inputs[0]);
  const int xt = ActOf(n.inputs[0], false);
  const AxisPadding ph = ComputePadding(Padding::kSame, x.shape[1], w.kh, w.sh, w.dh);
  const AxisPadding pw = ComputePadding(Padding::kSame, x.shape[2], w.kw, w.sw, w.dw);
  if (ph.before == w.pad_t && ph.after == w.pad_b && pw.before == w.pad_l && pw.after == w.pad_r) {
    *padding = Padding::kSame;
    return xt;
  }
  *padding = Padding::kValid;
  if (w.pad_t == 0 && w.pad_b == 0 && w.pad_l == 0 && w.pad_r == 0) return xt;
  if (n.op == ir::OpKind::kAvgPool2d)
    return Err(node, "pads that are not TFLite's SAME: a PAD op would change the pool's divisor");
  const int pads = Const(n.name + "/paddings", {4, 2}, TensorType::kInt32,
                         Int32Bytes({0, 0, w.pad_t, w.pad_b, w.pad_l, w.pad_r, 0, 0}));
  const int y =
      Act(n.name + "/padded",
          {1, static_cast<int32_t>(x.shape[1] + w.pad_t + w.pad_b),
           static_cast<int32_t>(x.shape[2] + w.pad_l + w.pad_r), static_cast<int32_t>(x.shape[0])},
          static_cast<float>(x.quant.scale[0]), x.quant.zero[0]);
  Op(kPad, 2, {xt, pads}, {y}, PadOptions{});
  return y;
}

Status FileBuilder::Node(int node) {
  const ir::Node& n = g_.nodes[static_cast<size_t>(node)];
  const ir::Value& y = g_.value(n.outputs[0]);
  const ir::Value& x = g_.value(n.inputs[0]);
  const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
  switch (n.op) {
    case ir::OpKind::kConv2d:
    case ir::OpKind::kDepthwiseConv2d: {
      const ir::Value& w = g_.value(n.inputs[1]);
      const int64_t O = w.shape[0], I = w.shape[1], KH = w.shape[2], KW = w.shape[3];
      const bool classifier = n.op == ir::OpKind::kConv2d && n.outputs[0] == g_.output && KH == 1 &&
                              KW == 1 && x.shape[1] == 1 && x.shape[2] == 1 && n.groups == 1;
      TTE_ASSIGN_OR_RETURN(Activation act, Fused(node));
      if (classifier) {  // the .pkl classifier: a fully connected layer over the pooled features
        auto [wt, bt] = WeightsAndBias(n, {i32(O), i32(I)}, w.data, 0);
        vector_out_ = n.outputs[0];
        const int yt = ActOf(n.outputs[0], true);
        FullyConnectedOptions o;
        o.activation = act;
        Op(kFullyConnected, 4, {ActOf(n.inputs[0], false), wt, bt}, {yt}, o);
        return Status::Ok();
      }
      Padding padding;
      TTE_ASSIGN_OR_RETURN(int xt, WindowInput(node, &padding));
      const int yt = ActOf(n.outputs[0], false);
      if (n.op == ir::OpKind::kConv2d) {
        auto [wt, bt] = WeightsAndBias(n, {i32(O), i32(KH), i32(KW), i32(I)},
                                       OihwToOhwi(w.data, O, I, KH, KW), 0);
        Conv2dOptions o{padding, n.window.sw, n.window.sh, act, n.window.dw, n.window.dh};
        Op(kConv2d, 3, {xt, wt, bt}, {yt}, o);
      } else {
        auto [wt, bt] = WeightsAndBias(n, {1, i32(KH), i32(KW), i32(O)},
                                       OihwToOhwi(w.data, 1, O, KH * KW, 1), 3);
        DepthwiseConv2dOptions o{padding, n.window.sw, n.window.sh, n.depth_multiplier,
                                 act,     n.window.dw, n.window.dh};
        Op(kDepthwiseConv2d, 3, {xt, wt, bt}, {yt}, o);
      }
      return Status::Ok();
    }
    case ir::OpKind::kFullyConnected: {
      const ir::Value& w = g_.value(n.inputs[1]);
      const int64_t O = w.shape[0];
      TTE_ASSIGN_OR_RETURN(Activation act, Fused(node));
      auto [wt, bt] =
          WeightsAndBias(n, {i32(O), i32(x.numel())},
                         ChwColumnsToNhwc(w.data, O, x.shape[0], x.shape[1], x.shape[2]), 0);
      vector_out_ = n.outputs[0];
      FullyConnectedOptions o;
      o.activation = act;
      Op(kFullyConnected, 4, {ActOf(n.inputs[0], false), wt, bt}, {ActOf(n.outputs[0], true)}, o);
      return Status::Ok();
    }
    case ir::OpKind::kAdd: {
      TTE_ASSIGN_OR_RETURN(Activation act, Fused(node));
      AddOptions o;
      o.activation = act;
      Op(kAdd, 2, {ActOf(n.inputs[0], false), ActOf(n.inputs[1], false)},
         {ActOf(n.outputs[0], false)}, o);
      return Status::Ok();
    }
    case ir::OpKind::kAvgPool2d: {
      if (x.quant.scale[0] != y.quant.scale[0] || x.quant.zero[0] != y.quant.zero[0])
        return Err(node,
                   "input and output quantization differ (TFLite's int8 pool does not rescale)");
      TTE_ASSIGN_OR_RETURN(Activation act, Fused(node));
      Pool2dOptions o;
      int xt = -1;
      if (n.global_pool) {
        o.padding = Padding::kValid;
        o.filter_h = i32(x.shape[1]), o.filter_w = i32(x.shape[2]);
        o.stride_h = o.stride_w = 1;
        xt = ActOf(n.inputs[0], false);
      } else {
        TTE_ASSIGN_OR_RETURN(xt, WindowInput(node, &o.padding));
        o.filter_h = n.window.kh, o.filter_w = n.window.kw, o.stride_h = n.window.sh,
        o.stride_w = n.window.sw;
      }
      o.activation = act;
      Op(kAveragePool2d, 2, {xt}, {ActOf(n.outputs[0], false)}, o);
      return Status::Ok();
    }
    case ir::OpKind::kMean: {
      if (n.act_min != -128 || n.act_max != 127)
        return Err(node, "a clamped mean has no TFLite form");
      const int axes = Const(n.name + "/axes", {2}, TensorType::kInt32, Int32Bytes({1, 2}));
      Op(kMean, 2, {ActOf(n.inputs[0], false), axes}, {ActOf(n.outputs[0], false)},
         ReducerOptions{true});
      return Status::Ok();
    }
    case ir::OpKind::kPad: {
      if (n.pad_c[0] || n.pad_c[1]) return Err(node, "channel padding is not written");
      const int pads =
          Const(n.name + "/paddings", {4, 2}, TensorType::kInt32,
                Int32Bytes({0, 0, n.pad_h[0], n.pad_h[1], n.pad_w[0], n.pad_w[1], 0, 0}));
      Op(kPad, 2, {ActOf(n.inputs[0], false), pads}, {ActOf(n.outputs[0], false)}, PadOptions{});
      return Status::Ok();
    }
    case ir::OpKind::kReshape: {
      const bool trivial = x.shape[1] == 1 && x.shape[2] == 1 && y.shape[1] == 1 && y.shape[2] == 1;
      if (!n.reshape_hwc && !trivial)
        return Err(node, "a channel-major reshape of H x W > 1 has no TFLite form (TRANSPOSE)");
      const bool vec = y.shape[1] == 1 && y.shape[2] == 1;
      const int yt = ActOf(n.outputs[0], vec);
      const std::vector<int32_t> shape = sg().tensors[static_cast<size_t>(yt)].shape;
      const int st = Const(n.name + "/shape", {static_cast<int32_t>(shape.size())},
                           TensorType::kInt32, Int32Bytes(shape));
      Op(kReshape, 1, {ActOf(n.inputs[0], false), st}, {yt}, ReshapeOptions{shape});
      return Status::Ok();
    }
    case ir::OpKind::kSoftmax: {
      Op(kSoftmax, 2, {ActOf(n.inputs[0], true)}, {ActOf(n.outputs[0], true)},
         SoftmaxOptions{1.0f});
      return Status::Ok();
    }
  }
  return Err(node, "unknown op");
}

Result<ModelFile> FileBuilder::Run() {
  TTE_RETURN_IF_ERROR(ir::Verify(g_));
  ActOf(g_.input, false);
  for (size_t i = 0; i < g_.nodes.size(); ++i) TTE_RETURN_IF_ERROR(Node(static_cast<int>(i)));
  int out = tensor_of_[static_cast<size_t>(g_.output)];
  const bool has_softmax = !g_.nodes.empty() && g_.nodes.back().op == ir::OpKind::kSoftmax;
  if (!has_softmax &&
      vector_out_ == g_.output) {  // a classifier: its probabilities as the model output
    const int probs =
        Act("probabilities", sg().tensors[static_cast<size_t>(out)].shape, 1.0f / 256, -128);
    Op(kSoftmax, 2, {out}, {probs}, SoftmaxOptions{1.0f});
    out = probs;
  }
  sg().inputs = {tensor_of_[static_cast<size_t>(g_.input)]};
  sg().outputs = {out};
  if (!g_.class_names.empty()) {
    TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> names, ClassNamesBytes(g_.class_names));
    m_.AddMetadata(kClassNamesMetadata, std::move(names));
  }
  const float in_scale = static_cast<float>(g_.input_spec.scale);
  if (g_.input_spec.pixels == ir::PixelRule::kMinus128 &&
      in_scale != 1.0f) {  // not what TFLite's scale says
    const std::string rule = "minus128";
    m_.AddMetadata(kPixelRuleMetadata, std::vector<uint8_t>(rule.begin(), rule.end()));
  }
  TTE_RETURN_IF_ERROR(ValidateModelFile(m_));
  return std::move(m_);
}

}  // namespace

Result<ModelFile> ModelFileFromGraph(const ir::Graph& g, const std::string& label) {
  return FileBuilder(g, label).Run();
}

}  // namespace tte::tflite
