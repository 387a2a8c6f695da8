// Forward program construction (see forward_builder.h).
#include "compiler/forward_builder.h"

#include <cstdio>
#include <cstring>

#include "core/limits.h"

namespace tte {

const ConvLayer& LayerOf(const Model& m, int conv_index) {
  if (conv_index == m.NumConvs()) return m.classifier;
  return *m.Convs()[conv_index];
}

namespace {

std::string ShortName(const ConvLayer& c) {
  // "blocks.3.pointwise1" -> "b3.pw1"
  const std::string& p = c.path;
  if (p.rfind("blocks.", 0) != 0) return p;
  size_t dot = p.find('.', 7);
  std::string kind = p.substr(dot + 1);
  const char* abbr = kind == "pointwise1" ? "pw1" : kind == "pointwise2" ? "pw2" : kind == "depthwise" ? "dw" : kind.c_str();
  std::string out = "b";
  out.append(p, 7, dot - 7);
  out += '.';
  out += abbr;
  return out;
}

template <typename T>
int FlashTensor(Program* prog, const std::string& name, DType dt, std::vector<int64_t> shape, const std::vector<T>& v) {
  TensorInfo t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.storage = Storage::kFlash;
  t.init.resize(v.size() * sizeof(T));
  std::memcpy(t.init.data(), v.data(), t.init.size());
  return prog->AddTensor(std::move(t));
}

}  // namespace

ConvBinding MakeFrozenBinding(const ConvLayer& c, int index, int in_hw, Program* prog) {
  ConvBinding b;
  b.index = index;
  b.name = ShortName(c);
  b.cin = c.in_channels;
  b.cout = c.out_channels;
  b.k = c.kernel;
  b.stride = c.stride;
  b.pad = c.pad();
  b.groups = c.groups;
  b.in_hw = in_hw;
  b.out_hw = c.OutSize(in_hw);
  b.x_zero = c.x_zero;
  b.y_zero = c.y_zero;
  b.depthwise = c.groups == c.in_channels && c.in_channels == c.out_channels && c.groups > 1;
  int64_t k = c.kernel;
  b.w_frozen = FlashTensor(prog, b.name + ".weight", DType::kInt8, {c.out_channels, c.in_channels / c.groups, k, k}, c.weight);
  b.n_frozen = c.in_channels;
  b.bias_i32 = FlashTensor(prog, b.name + ".bias", DType::kInt32, {c.out_channels}, c.bias);
  b.eff = FlashTensor(prog, b.name + ".eff", DType::kFloat32, {c.out_channels}, c.eff);
  return b;
}

int AppendHeadForward(Program* prog, int pooled, int num_classes) {
  TensorInfo lg;
  lg.name = "logits";
  lg.dtype = DType::kFloat32;
  lg.shape = {num_classes};
  lg.is_output = true;
  prog->logits = prog->AddTensor(lg);
  Op op(OpCode::kHeadForward);
  op.ins = {pooled};
  op.outs = {prog->logits};
  op.note = "fp32 linear over (x - z) * s_x of the pooled features";
  prog->AddOp(op);
  return prog->logits;
}

Result<ForwardGraph> BuildForward(const Model& m, const ForwardOptions& opt, Program* prog) {
  const int R = opt.resolution > 0 ? opt.resolution : m.resolution();
  const int n_convs = m.NumConvs();
  ForwardGraph g;
  g.conv_in.assign(n_convs + 1, -1);
  g.conv_out.assign(n_convs + 1, -1);
  g.conv_mask.assign(n_convs + 1, -1);
  g.block_in.assign(m.blocks.size(), -1);
  g.block_out.assign(m.blocks.size(), -1);
  g.add_mask.assign(m.blocks.size(), -1);
  prog->resolution = R;
  prog->convs.assign(n_convs + 1, ConvBinding{});
  prog->adds.assign(m.blocks.size(), AddBinding{});

  // Activations are bounded before anything is planned or allocated (core/limits.h).
  auto too_big = [&](const std::string& what, int64_t c, int64_t hw) -> Status {
    if (c * hw * hw <= limits::kMaxActivationBytes) return Status::Ok();
    return InvalidArgument(m.source + ": " + what + ": " + std::to_string(c) + "x" + std::to_string(hw) + "x" +
                           std::to_string(hw) + " bytes of activations exceed the limit of " +
                           std::to_string(limits::kMaxActivationBytes) + " (resolution " + std::to_string(R) + ")");
  };
  TTE_RETURN_IF_ERROR(too_big("input", m.in_channels(), R));
  TensorInfo in;
  in.name = "input";
  in.dtype = DType::kInt8;
  in.shape = {m.in_channels(), R, R};
  in.is_input = true;
  int cur = prog->AddTensor(in);
  prog->input = cur;
  int hw = R;

  auto conv = [&](const ConvLayer& c) -> Status {
    int out_hw = c.OutSize(hw);
    if (out_hw < 1)
      return InvalidArgument(m.source + ": " + c.path + ": input of " + std::to_string(hw) + "x" + std::to_string(hw) +
                             " is too small for kernel " + std::to_string(c.kernel) + " at stride " + std::to_string(c.stride) +
                             " (resolution " + std::to_string(R) + ")");
    TTE_RETURN_IF_ERROR(too_big(c.path + " output", c.out_channels, out_hw));
    TensorInfo y;
    y.name = ShortName(c) + ".out";
    y.dtype = DType::kInt8;
    y.shape = {c.out_channels, out_hw, out_hw};
    int yid = prog->AddTensor(y);
    Op op(OpCode::kConv);
    op.conv = c.index >= 0 ? c.index : n_convs;
    prog->convs[op.conv] = MakeFrozenBinding(c, op.conv, hw, prog);
    op.ins = {cur};
    op.outs = {yid};
    if (op.conv < static_cast<int>(opt.conv_mask.size()) && opt.conv_mask[op.conv]) {
      TensorInfo mk;
      mk.name = ShortName(c) + ".mask";
      mk.dtype = DType::kUInt8;
      mk.bits = true;
      mk.shape = y.shape;
      int mid = prog->AddTensor(mk);
      op.outs.push_back(mid);
      g.conv_mask[op.conv] = mid;
    }
    g.conv_in[op.conv] = cur;
    g.conv_out[op.conv] = yid;
    prog->AddOp(op);
    cur = yid;
    hw = out_hw;
    return Status::Ok();
  };

  TTE_RETURN_IF_ERROR(conv(m.first_conv));
  g.stages.emplace_back("first_conv", cur);
  for (size_t b = 0; b < m.blocks.size(); ++b) {
    const Block& blk = m.blocks[b];
    int block_in = cur;
    g.block_in[b] = cur;
    if (blk.pointwise1) TTE_RETURN_IF_ERROR(conv(*blk.pointwise1));
    TTE_RETURN_IF_ERROR(conv(blk.depthwise));
    TTE_RETURN_IF_ERROR(conv(blk.pointwise2));
    if (blk.residual) {
      TensorInfo y;
      y.name = "b" + std::to_string(b) + ".add.out";
      y.dtype = DType::kInt8;
      y.shape = prog->tensors[cur].shape;
      int yid = prog->AddTensor(y);
      Op op(OpCode::kAdd);
      op.block = static_cast<int>(b);
      AddBinding& ab = prog->adds[b];
      ab.block = static_cast<int>(b);
      ab.n = static_cast<int>(y.numel());
      ab.z1 = blk.residual->x_zero;
      ab.s1 = static_cast<float>(blk.residual->x_scale);
      ab.z2 = blk.pointwise2.y_zero;
      ab.s2 = static_cast<float>(blk.pointwise2.y_scale);
      ab.zy = blk.residual->y_zero;
      ab.sy = static_cast<float>(blk.residual->y_scale);
      op.ins = {block_in, cur};
      op.outs = {yid};
      if (b < opt.add_mask.size() && opt.add_mask[b]) {
        TensorInfo mk;
        mk.name = "b" + std::to_string(b) + ".add.mask";
        mk.dtype = DType::kUInt8;
        mk.bits = true;
        mk.shape = y.shape;
        int mid = prog->AddTensor(mk);
        op.outs.push_back(mid);
        g.add_mask[b] = mid;
      }
      prog->AddOp(op);
      cur = yid;
    }
    g.block_out[b] = cur;
    char name[32];
    std::snprintf(name, sizeof name, "block_%02zu", b);
    g.stages.emplace_back(name, cur);
  }
  if (m.feature_mix) TTE_RETURN_IF_ERROR(conv(*m.feature_mix));
  g.stages.emplace_back("feature_mix", cur);

  TensorInfo pooled;
  pooled.name = "avgpool.out";
  pooled.dtype = DType::kInt8;
  pooled.shape = {prog->tensors[cur].shape[0], 1, 1};
  int pid = prog->AddTensor(pooled);
  Op pool(OpCode::kAvgPool);
  pool.ins = {cur};
  pool.outs = {pid};
  prog->AddOp(pool);
  g.pooled = pid;
  cur = pid;
  hw = 1;
  g.stages.emplace_back("avgpool", pid);

  if (!opt.int8_classifier) prog->convs.pop_back();
  if (opt.int8_classifier) {
    TTE_RETURN_IF_ERROR(conv(m.classifier));
    prog->tensors[cur].is_output = true;
    prog->logits = cur;
    g.stages.emplace_back("fc", cur);
  }
  return g;
}

}  // namespace tte
