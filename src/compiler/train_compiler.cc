// The training compiler (see train_compiler.h).
#include "compiler/train_compiler.h"

#include <cmath>
#include <cstring>
#include <numeric>

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


// Moves a layer's trainable parameters into state and builds its flash tables. `weight` is the layer's
// whole int8 OIHW tensor.
Status BindTrainable(const LayerTraining& lt, const int8_t* weight, const TrainOptions& opt, ConvBinding* b,
                     Program* prog) {
  const int cout = b->cout, kk = b->kk(), ipg = b->in_per_group();
  b->train_bias = lt.bias;
  b->train_weight = !lt.channels.empty();
  std::vector<float> eff(static_cast<size_t>(cout));
  std::memcpy(eff.data(), prog->tensors[static_cast<size_t>(b->eff)].init.data(), eff.size() * sizeof(float));
  std::vector<float> qw, qb;
  QasDivisors(eff, b->x_scale, b->y_scale, opt.qas, &qw, &qb);
  b->qas_w = AddData(prog, b->name + ".qas_w", Storage::kFlash, DType::kFloat32, {cout}, qw);
  b->qas_b = AddData(prog, b->name + ".qas_b", Storage::kFlash, DType::kFloat32, {cout}, qb);
  if (lt.bias) {
    std::vector<int32_t> bias(static_cast<size_t>(cout));
    std::memcpy(bias.data(), prog->tensors[static_cast<size_t>(b->bias_i32)].init.data(), bias.size() * sizeof(int32_t));
    if (opt.store == WeightStore::kMaster) {
      std::vector<float> bf(bias.begin(), bias.end());  // float32(int32), as the reference's fp32 master
      b->bias_f32 = AddData(prog, b->name + ".bias_master", Storage::kState, DType::kFloat32, {cout}, bf);
      b->bias_i32 = -1;
    } else {
      b->bias_i32 = AddData(prog, b->name + ".bias", Storage::kState, DType::kInt32, {cout}, bias);
    }
    if (opt.momentum > 0) b->b_mom = AddZeros(prog, b->name + ".bias_momentum", {cout});
    if (!opt.fuse_updates) b->grad_b = AddZeros(prog, b->name + ".bias_grad", {cout});
  }
  if (!b->train_weight) return Status::Ok();
  const int total = b->selection_count();
  // Grouped (non-depthwise) convs train all their weights: the slice is the whole [cout][cin/groups][kk] tensor,
  // its row j the input channel j within the group (input channel i has slot i mod cin/groups), as
  // tte_conv_weight_grad_f32 lays it out; sel is 0..cin/groups-1 and the whole input is saved.
  const bool grouped = b->groups > 1 && !b->depthwise;
  if (grouped && static_cast<int>(lt.channels.size()) != total)
    return Unsupported(b->name + ": a grouped conv trains all its weights or none");
  std::vector<int> chans = lt.channels;
  if (grouped) {
    chans.resize(static_cast<size_t>(ipg));
    std::iota(chans.begin(), chans.end(), 0);
  }
  const int n_train = static_cast<int>(chans.size());
  std::vector<uint16_t> slot(static_cast<size_t>(total)), sel(chans.begin(), chans.end());
  std::vector<int> frozen_ch;
  std::vector<bool> trained(static_cast<size_t>(total), false);
  for (int j = 0; j < n_train; ++j) {
    trained[static_cast<size_t>(chans[static_cast<size_t>(j)])] = true;
    slot[static_cast<size_t>(chans[static_cast<size_t>(j)])] = static_cast<uint16_t>(TTE_SLOT_TRAIN | j);
  }
  for (int ch = 0; grouped && ch < total; ++ch) {
    trained[static_cast<size_t>(ch)] = true;
    slot[static_cast<size_t>(ch)] = static_cast<uint16_t>(TTE_SLOT_TRAIN | (ch % ipg));
  }
  for (int ch = 0; ch < total; ++ch)
    if (!trained[static_cast<size_t>(ch)]) {
      slot[static_cast<size_t>(ch)] = static_cast<uint16_t>(frozen_ch.size());
      frozen_ch.push_back(ch);
    }
  // Rows of the selected channels: per output channel for depthwise convs, else per (output, input) pair.
  auto gather = [&](const std::vector<int>& chans) {
    std::vector<int8_t> out;
    if (b->depthwise) {
      for (int ch : chans) out.insert(out.end(), weight + static_cast<size_t>(ch) * kk, weight + static_cast<size_t>(ch + 1) * kk);
    } else {
      for (int o = 0; o < cout; ++o)
        for (int ch : chans) {
          const int8_t* row = weight + (static_cast<size_t>(o) * ipg + static_cast<size_t>(ch)) * kk;
          out.insert(out.end(), row, row + kk);
        }
    }
    return out;
  };
  const int64_t rows = static_cast<int64_t>(b->depthwise ? 1 : cout);
  std::vector<int8_t> wt = gather(chans);
  b->w_frozen = -1;
  b->w_train = AddData(prog, b->name + ".weight_train", Storage::kState, DType::kInt8, {rows, n_train, kk}, wt);
  b->n_train = n_train;
  b->n_frozen = static_cast<int>(frozen_ch.size());
  if (!frozen_ch.empty())
    b->w_frozen = AddData(prog, b->name + ".weight_frozen", Storage::kFlash, DType::kInt8, {rows, b->n_frozen, kk}, gather(frozen_ch));
  b->slot = AddData(prog, b->name + ".slot", Storage::kFlash, DType::kUInt16, {total}, slot);
  b->sel = AddData(prog, b->name + ".sel", Storage::kFlash, DType::kUInt16, {n_train}, sel);
  b->saved_sel = b->sel;
  if (b->depthwise && b->cout != b->cin) {  // depth multiplier: output channel o reads input channel o / multiplier
    std::vector<uint16_t> in_ch(sel);
    for (uint16_t& c : in_ch) c = static_cast<uint16_t>(c / (b->cout / b->cin));
    b->saved_sel = AddData(prog, b->name + ".saved_sel", Storage::kFlash, DType::kUInt16, {n_train}, in_ch);
  }
  const int64_t n_el = rows * n_train * kk;
  if (opt.store == WeightStore::kMaster) {
    std::vector<float> wm(wt.begin(), wt.end());
    b->w_master = AddData(prog, b->name + ".weight_master", Storage::kState, DType::kFloat32, {n_el}, wm);
  }
  if (opt.momentum > 0) b->w_mom = AddZeros(prog, b->name + ".weight_momentum", {n_el});
  if (!opt.fuse_updates) b->grad_w = AddZeros(prog, b->name + ".weight_grad", {n_el});
  return Status::Ok();
}

Status BindHead(const ir::Graph& g, const LayerView& v, const TrainOptions& opt, Program* prog) {
  HeadBinding& h = prog->head;
  const ir::Value& features = g.value(v.head_input);
  h.in = static_cast<int>(features.numel());
  h.out = opt.num_classes;
  h.x_zero = features.quant.zero[0];
  h.x_scale = static_cast<float>(features.quant.scale[0]);
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

void QasDivisors(const std::vector<float>& eff, double x_scale, double y_scale, bool qas, std::vector<float>* qw,
                 std::vector<float>* qb) {
  const size_t cout = eff.size();
  qw->assign(cout, 1.0f);
  qb->assign(cout, 1.0f);
  if (!qas) return;
  const float ys = static_cast<float>(y_scale), xs = static_cast<float>(x_scale);
  for (size_t o = 0; o < cout; ++o) {
    const float sw = eff[o] * ys / xs;
    (*qw)[o] = sw * sw;
    const float sxsw = eff[o] * ys;
    (*qb)[o] = sxsw * sxsw;
  }
}

Result<CompiledTraining> CompileTraining(const ir::Graph& g, const Scheme& scheme, const TrainOptions& opt) {
  CompiledTraining out;
  out.options = opt;
  if (opt.num_classes < 1 || opt.num_classes > 65535) return InvalidArgument("number of classes must be in 1..65535");
  if (!(opt.momentum >= 0 && opt.momentum < 1)) return InvalidArgument("momentum must be in [0, 1)");
  TTE_ASSIGN_OR_RETURN(out.view, MakeLayerView(g));
  const LayerView& view = out.view;
  if (view.head_node < 0)
    return InvalidArgument(g.source + ": no classifier found (a fully connected or whole-input conv layer producing the "
                           "output, possibly through reshapes and a softmax): tte trains an fp32 head in its place");
  TTE_ASSIGN_OR_RETURN(out.scheme, ResolveScheme(scheme, g, view, opt.seed));
  const ResolvedScheme& rs = out.scheme;
  const int n = static_cast<int>(view.layers.size());

  // Requires-grad over graph values: the output of a trained layer, and everything computed from one.
  std::vector<bool> need(g.values.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& nd = g.nodes[i];
    if (static_cast<int>(i) == view.head_node) break;
    const int layer = view.layer_of_node[i];
    bool v = layer >= 0 && (rs.layers[static_cast<size_t>(layer)].bias || !rs.layers[static_cast<size_t>(layer)].channels.empty());
    for (int j = 0; j < ir::DataInputs(nd.op); ++j) v = v || need[static_cast<size_t>(nd.inputs[static_cast<size_t>(j)])];
    need[static_cast<size_t>(nd.outputs[0])] = v;
  }
  // Clamp masks where a gradient passes a clamp: conv and add outputs, pools with a fused activation, and TFLite's
  // requantizing mean (it saturates to int8).
  ForwardOptions fo;
  fo.int8_classifier = false;
  fo.mask.assign(g.values.size(), false);
  for (const ir::Node& nd : g.nodes) {
    const size_t y = static_cast<size_t>(nd.outputs[0]);
    const bool clamps = nd.op == ir::OpKind::kConv2d || nd.op == ir::OpKind::kDepthwiseConv2d ||
                        nd.op == ir::OpKind::kFullyConnected || nd.op == ir::OpKind::kAdd ||
                        nd.op == ir::OpKind::kMean ||
                        (nd.op == ir::OpKind::kAvgPool2d && !nd.global_pool && (nd.act_min > -128 || nd.act_max < 127));
    fo.mask[y] = need[y] && clamps;
  }
  Program& P = out.program;
  TTE_ASSIGN_OR_RETURN(out.forward, BuildForward(g, view, fo, &P));
  const ForwardGraph& fg = out.forward;
  P.train.enabled = true;
  P.train.store = opt.store == WeightStore::kMaster ? TTE_STORE_MASTER : TTE_STORE_DEVICE;
  P.train.rounding = opt.rounding;
  P.train.momentum = opt.momentum;
  P.train.qas = opt.qas;
  P.train.fused = opt.fuse_updates;
  P.train.num_classes = opt.num_classes;

  // Parameter binding for trained layers. The frozen flash tensors BuildForward made are replaced where training
  // changes the storage; the orphans are dropped by RemoveUnusedTensors at the end.
  for (int i = 0; i < n; ++i) {
    const LayerTraining& lt = rs.layers[static_cast<size_t>(i)];
    if (!lt.bias && lt.channels.empty()) continue;
    const Layer& l = view.layers[static_cast<size_t>(i)];
    TTE_RETURN_IF_ERROR(BindTrainable(lt, g.value(l.weight).as<int8_t>(), opt, &P.convs[static_cast<size_t>(i)], &P));
  }

  // Requires-grad by program tensor.
  AutodiffInputs ad;
  ad.fused = opt.fuse_updates;
  ad.debug_overwrite_fanout = opt.debug_overwrite_fanout;
  ad.requires_grad.assign(P.tensors.size(), false);
  for (size_t v = 0; v < g.values.size(); ++v)
    if (need[v] && fg.tensor_of_value[v] >= 0) ad.requires_grad[static_cast<size_t>(fg.tensor_of_value[v])] = true;

  // Saved-for-backward inputs: gather the selected channels right before the conv (or keep the whole input).
  ad.saved_input.assign(static_cast<size_t>(n), -1);
  std::vector<Op> ops;
  for (const Op& op : P.ops) {
    if (op.code == OpCode::kConv && op.conv < n && P.convs[static_cast<size_t>(op.conv)].train_weight) {
      const ConvBinding& b = P.convs[static_cast<size_t>(op.conv)];
      const int total = b.selection_count();
      if ((b.n_train == total && b.saved_sel == b.sel) || (b.groups > 1 && !b.depthwise)) {
        ad.saved_input[static_cast<size_t>(op.conv)] = op.ins[0];
      } else {
        TensorInfo xs;
        xs.name = b.name + ".saved_input";
        xs.dtype = DType::kInt8;
        xs.shape = {b.n_train, b.in_h, b.in_w};
        int xid = P.AddTensor(xs);
        Op gop(OpCode::kGatherChannels);
        gop.conv = op.conv;
        gop.ins = {op.ins[0]};
        gop.outs = {xid};
        gop.note = "save " + std::to_string(b.n_train) + " of " + std::to_string(total) + " input channels for the weight gradient";
        ops.push_back(gop);
        ad.saved_input[static_cast<size_t>(op.conv)] = xid;
      }
    }
    ops.push_back(op);
  }
  P.ops = std::move(ops);

  // Head forward.
  TTE_RETURN_IF_ERROR(BindHead(g, view, opt, &P));
  AppendHeadForward(&P, fg.features, opt.num_classes);
  ad.features = fg.features;
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
      const ConvBinding& b = P.convs[static_cast<size_t>(i)];
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
