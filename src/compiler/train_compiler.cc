// The training compiler (see train_compiler.h).
#include "compiler/train_compiler.h"

#include <cmath>
#include <cstring>

#include "compiler/autodiff.h"
#include "core/splitmix.h"
#include "compiler/inplace.h"
#include "compiler/patch_forward.h"

namespace tte {
namespace {

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

template <typename T>
int AddData(Program* prog, const std::string& name, Storage where, DType dt, std::vector<int64_t> shape,
            const std::vector<T>& v) {
  TensorInfo t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.storage = where;
  t.init = Bytes(v);
  return prog->AddTensor(std::move(t));
}

int AddZeros(Program* prog, const std::string& name, std::vector<int64_t> shape) {
  TensorInfo t;
  t.name = name;
  t.dtype = DType::kFloat32;
  t.shape = std::move(shape);
  t.storage = Storage::kState;  // zero-initialised by the runtime
  return prog->AddTensor(std::move(t));
}


// Moves a conv's trainable parameters into state and builds its flash tables.
Status BindTrainable(const ConvLayer& c, const LayerTraining& lt, const TrainOptions& opt, ConvBinding* b,
                     Program* prog) {
  const int cout = c.out_channels, kk = c.kernel * c.kernel;
  b->train_bias = lt.bias;
  b->train_weight = !lt.channels.empty();
  std::vector<float> qw, qb;
  QasDivisors(c, opt.qas, &qw, &qb);
  b->qas_w = AddData(prog, b->name + ".qas_w", Storage::kFlash, DType::kFloat32, {cout}, qw);
  b->qas_b = AddData(prog, b->name + ".qas_b", Storage::kFlash, DType::kFloat32, {cout}, qb);
  if (lt.bias) {
    if (opt.store == WeightStore::kMaster) {
      std::vector<float> bf(c.bias.begin(), c.bias.end());  // float32(int32), as the reference's fp32 master
      b->bias_f32 = AddData(prog, b->name + ".bias_master", Storage::kState, DType::kFloat32, {cout}, bf);
    } else {
      b->bias_i32 = AddData(prog, b->name + ".bias", Storage::kState, DType::kInt32, {cout}, c.bias);
    }
    if (opt.momentum > 0) b->b_mom = AddZeros(prog, b->name + ".bias_momentum", {cout});
    if (!opt.fuse_updates) b->grad_b = AddZeros(prog, b->name + ".bias_grad", {cout});
  }
  if (!b->train_weight) return Status::Ok();
  if (c.groups > 1 && !c.depthwise)
    return Unsupported(c.path + ": weight training of grouped (non-depthwise) convs is not supported");
  const int total = c.depthwise ? cout : c.in_channels;
  const int n_train = static_cast<int>(lt.channels.size());
  std::vector<uint16_t> slot(total), sel(lt.channels.begin(), lt.channels.end());
  std::vector<int> frozen_ch;
  std::vector<bool> trained(total, false);
  for (int j = 0; j < n_train; ++j) {
    trained[lt.channels[j]] = true;
    slot[lt.channels[j]] = static_cast<uint16_t>(TTE_SLOT_TRAIN | j);
  }
  for (int s = 0; s < total; ++s)
    if (!trained[s]) {
      slot[s] = static_cast<uint16_t>(frozen_ch.size());
      frozen_ch.push_back(s);
    }
  auto gather = [&](const std::vector<int>& chans) {
    std::vector<int8_t> out;
    if (c.depthwise) {
      for (int ch : chans) out.insert(out.end(), c.weight.begin() + static_cast<size_t>(ch) * kk, c.weight.begin() + static_cast<size_t>(ch + 1) * kk);
    } else {
      for (int o = 0; o < cout; ++o)
        for (int ch : chans) {
          auto it = c.weight.begin() + (static_cast<size_t>(o) * c.in_channels + ch) * kk;
          out.insert(out.end(), it, it + kk);
        }
    }
    return out;
  };
  const int64_t rows = static_cast<int64_t>(c.depthwise ? 1 : cout);
  std::vector<int8_t> wt = gather(lt.channels);
  b->w_train = AddData(prog, b->name + ".weight_train", Storage::kState, DType::kInt8, {rows, n_train, kk}, wt);
  b->n_train = n_train;
  b->n_frozen = static_cast<int>(frozen_ch.size());
  b->w_frozen = frozen_ch.empty() ? -1
                                  : AddData(prog, b->name + ".weight_frozen", Storage::kFlash, DType::kInt8,
                                            {rows, b->n_frozen, kk}, gather(frozen_ch));
  b->slot = AddData(prog, b->name + ".slot", Storage::kFlash, DType::kUInt16, {total}, slot);
  b->sel = AddData(prog, b->name + ".sel", Storage::kFlash, DType::kUInt16, {n_train}, sel);
  const int64_t n_el = rows * n_train * kk;
  if (opt.store == WeightStore::kMaster) {
    std::vector<float> wm(wt.begin(), wt.end());
    b->w_master = AddData(prog, b->name + ".weight_master", Storage::kState, DType::kFloat32, {n_el}, wm);
  }
  if (opt.momentum > 0) b->w_mom = AddZeros(prog, b->name + ".weight_momentum", {n_el});
  if (!opt.fuse_updates) b->grad_w = AddZeros(prog, b->name + ".weight_grad", {n_el});
  return Status::Ok();
}

Status BindHead(const Model& m, const TrainOptions& opt, Program* prog) {
  HeadBinding& h = prog->head;
  h.in = m.feature_channels();
  h.out = opt.num_classes;
  h.x_zero = m.classifier.x_zero;
  h.x_scale = static_cast<float>(m.classifier.x_scale);
  const size_t nw = static_cast<size_t>(h.in) * static_cast<size_t>(h.out);
  std::vector<float> W = opt.head_weight, b = opt.head_bias;
  if (!W.empty() && W.size() != nw)
    return InvalidArgument("head weight has " + std::to_string(W.size()) + " values, expected " + std::to_string(h.out) + " x " +
                           std::to_string(h.in) + " = " + std::to_string(nw));
  if (!b.empty() && b.size() != static_cast<size_t>(h.out))
    return InvalidArgument("head bias has " + std::to_string(b.size()) + " values, expected " + std::to_string(h.out));
  // PyTorch's nn.Linear default: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
  SplitMix64 rng{opt.seed * 0x2545F4914F6CDD1Dull + 17};
  const float bound = 1.0f / std::sqrt(static_cast<float>(h.in));
  if (W.empty())
    for (size_t i = 0; i < nw; ++i) W.push_back(rng.Uniform(-bound, bound));
  if (b.empty())
    for (int i = 0; i < h.out; ++i) b.push_back(rng.Uniform(-bound, bound));
  h.W = AddData(prog, "head.weight", Storage::kState, DType::kFloat32, {h.out, h.in}, W);
  h.b = AddData(prog, "head.bias", Storage::kState, DType::kFloat32, {h.out}, b);
  if (opt.momentum > 0) {
    h.mW = AddZeros(prog, "head.weight_momentum", {h.out, h.in});
    h.mb = AddZeros(prog, "head.bias_momentum", {h.out});
  }
  if (!opt.fuse_updates) {
    h.gW = AddZeros(prog, "head.weight_grad", {h.out, h.in});
    h.gb = AddZeros(prog, "head.bias_grad", {h.out});
  }
  return Status::Ok();
}

}  // namespace

void QasDivisors(const ConvLayer& c, bool qas, std::vector<float>* qw, std::vector<float>* qb) {
  const int cout = c.out_channels;
  qw->assign(cout, 1.0f);
  qb->assign(cout, 1.0f);
  if (!qas) return;
  const float ys = static_cast<float>(c.y_scale), xs = static_cast<float>(c.x_scale);
  for (int o = 0; o < cout; ++o) {
    const float sw = c.eff[o] * ys / xs;
    (*qw)[o] = sw * sw;
    const float sxsw = c.eff[o] * ys;
    (*qb)[o] = sxsw * sxsw;
  }
}

Result<CompiledTraining> CompileTraining(const Model& m, const Scheme& scheme, const TrainOptions& opt) {
  CompiledTraining out;
  out.options = opt;
  if (opt.num_classes < 1 || opt.num_classes > 65535) return InvalidArgument("number of classes must be in 1..65535");
  if (!(opt.momentum >= 0 && opt.momentum < 1)) return InvalidArgument("momentum must be in [0, 1)");
  TTE_ASSIGN_OR_RETURN(out.scheme, ResolveScheme(scheme, m, opt.seed));
  const ResolvedScheme& rs = out.scheme;
  const auto convs = m.Convs();
  const int n = static_cast<int>(convs.size());
  const int earliest = rs.earliest();  // -1: head only

  // Requires-grad: conv i's output needs a gradient iff i >= earliest (the network is a chain with
  // identity shortcuts, so every earlier conv is upstream of every later value).
  ForwardOptions fo;
  fo.resolution = opt.resolution;
  fo.int8_classifier = false;
  fo.conv_mask.assign(n, false);
  for (int i = 0; i < n; ++i) fo.conv_mask[i] = earliest >= 0 && i >= earliest;
  fo.add_mask.assign(m.blocks.size(), false);
  std::vector<int> block_last(m.blocks.size()), block_first(m.blocks.size());
  {
    int idx = 1;
    for (size_t b = 0; b < m.blocks.size(); ++b) {
      block_first[b] = idx;
      idx += (m.blocks[b].pointwise1 ? 3 : 2);
      block_last[b] = idx - 1;
      fo.add_mask[b] = m.blocks[b].residual && earliest >= 0 && block_last[b] >= earliest;
    }
  }
  Program& P = out.program;
  TTE_ASSIGN_OR_RETURN(out.forward, BuildForward(m, fo, &P));
  const ForwardGraph& fg = out.forward;
  P.train.enabled = true;
  P.train.store = opt.store == WeightStore::kMaster ? TTE_STORE_MASTER : TTE_STORE_DEVICE;
  P.train.rounding = opt.rounding;
  P.train.momentum = opt.momentum;
  P.train.qas = opt.qas;
  P.train.fused = opt.fuse_updates;
  P.train.num_classes = opt.num_classes;

  // Parameter binding for trained convs.
  for (int i = 0; i < n; ++i) {
    const LayerTraining& lt = rs.layers[i];
    if (!lt.bias && lt.channels.empty()) continue;
    ConvBinding& b = P.convs[i];
    // The frozen binding made by BuildForward is replaced where training changes the storage; the
    // orphaned flash tensors are dropped by RemoveUnusedTensors at the end.
    if (!lt.channels.empty()) {
      b.w_frozen = -1;
      b.n_frozen = 0;
    }
    if (lt.bias) b.bias_i32 = -1;
    TTE_RETURN_IF_ERROR(BindTrainable(*convs[i], lt, opt, &b, &P));
  }

  // Requires-grad by tensor.
  AutodiffInputs ad;
  ad.fused = opt.fuse_updates;
  ad.debug_overwrite_fanout = opt.debug_overwrite_fanout;
  ad.requires_grad.assign(P.tensors.size(), false);
  for (int i = 0; i < n; ++i) {
    if (earliest >= 0 && i >= earliest) ad.requires_grad[fg.conv_out[i]] = true;
    if (earliest >= 0 && i > earliest) ad.requires_grad[fg.conv_in[i]] = true;
  }
  for (size_t b = 0; b < m.blocks.size(); ++b) {
    if (fg.block_out[b] >= 0 && earliest >= 0 && block_last[b] >= earliest) ad.requires_grad[fg.block_out[b]] = true;
    if (earliest >= 0 && block_first[b] > earliest) ad.requires_grad[fg.block_in[b]] = true;
  }
  if (earliest >= 0) ad.requires_grad[fg.pooled] = true;

  // Saved-for-backward inputs: gather the selected channels right before the conv (or keep the whole input).
  ad.saved_input.assign(n, -1);
  std::vector<Op> ops;
  for (const Op& op : P.ops) {
    if (op.code == OpCode::kConv && op.conv < n && P.convs[op.conv].train_weight) {
      const ConvBinding& b = P.convs[op.conv];
      const int total = b.depthwise ? b.cout : b.cin;
      if (b.n_train == total) {
        ad.saved_input[op.conv] = op.ins[0];
      } else {
        TensorInfo xs;
        xs.name = b.name + ".saved_input";
        xs.dtype = DType::kInt8;
        const TensorInfo& x = P.tensors[op.ins[0]];
        xs.shape = {b.n_train, x.shape[1], x.shape[2]};
        int xid = P.AddTensor(xs);
        Op g(OpCode::kGatherChannels);
        g.conv = op.conv;
        g.ins = {op.ins[0]};
        g.outs = {xid};
        g.note = "save " + std::to_string(b.n_train) + " of " + std::to_string(total) + " input channels for the weight gradient";
        ops.push_back(g);
        ad.saved_input[op.conv] = xid;
      }
    }
    ops.push_back(op);
  }
  P.ops = std::move(ops);

  // Head forward.
  TTE_RETURN_IF_ERROR(BindHead(m, opt, &P));
  AppendHeadForward(&P, fg.pooled, opt.num_classes);
  ad.pooled = fg.pooled;
  ad.logits = P.logits;
  ad.requires_grad.resize(P.tensors.size(), false);

  TTE_RETURN_IF_ERROR(AppendBackward(ad, &P));

  // Deferred updates: in the same order the fused ops would have applied them (head, then layers from
  // the last to the earliest), so both modes consume the stochastic-rounding stream identically.
  if (!opt.fuse_updates) {
    Op hu(OpCode::kApplyUpdate);
    hu.phase = Phase::kUpdate;
    hu.note = "apply the head's stored gradients";
    P.AddOp(hu);
    for (int i = n - 1; i >= 0; --i) {
      const ConvBinding& b = P.convs[i];
      if (!b.train_bias && !b.train_weight) continue;
      Op u(OpCode::kApplyUpdate);
      u.phase = Phase::kUpdate;
      u.conv = i;
      u.note = "apply " + b.name + "'s stored gradients (bias, then weights)";
      P.AddOp(u);
    }
  }
  if (opt.patch_grid > 0) {
    const int split = opt.patch_split >= 0 ? opt.patch_split : LastPatchableConv(P);
    if (split < 0) return InvalidArgument("patch-based forward: no frozen prefix to patch (the first conv is trained)");
    TTE_ASSIGN_OR_RETURN(out.patch, ApplyPatchForward(&P, split, opt.patch_grid));
  }
  if (opt.in_place) ApplyInPlace(&P);
  RemoveUnusedTensors(&P);
  out.update_begin = P.ops.size();
  for (size_t i = 0; i < P.ops.size(); ++i)
    if (P.ops[i].phase == Phase::kUpdate) {
      out.update_begin = i;
      break;
    }
  return out;
}

}  // namespace tte
