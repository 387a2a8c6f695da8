// Op -> kernel arguments (see kernel_args.h).
#include "compiler/kernel_args.h"

#include <string>

namespace tte {
namespace {

Status Need(bool ok, const Program& P, size_t i, const std::string& what) {
  if (ok) return Status::Ok();
  const Op& op = P.ops[i];
  return Internal("op #" + std::to_string(i) + " " + OpCodeName(op.code) + ": " + what);
}

// tte_conv_params of a layer at its compiled size (whole tensors).
Result<tte_conv_params> ConvParams(const Program& P, size_t i, int conv, ConvTensorIds* ids) {
  TTE_RETURN_IF_ERROR(Need(conv >= 0 && conv < static_cast<int>(P.convs.size()), P, i, "no conv binding " + std::to_string(conv)));
  const ConvBinding& b = P.convs[static_cast<size_t>(conv)];
  tte_conv_params p{};
  p.cin = b.cin;
  p.cout = b.cout;
  p.groups = b.groups;
  p.depthwise = b.depthwise;
  p.kh = b.kh, p.kw = b.kw, p.sh = b.sh, p.sw = b.sw, p.dh = b.dh, p.dw = b.dw;
  p.pad_t = b.pad_t, p.pad_b = b.pad_b, p.pad_l = b.pad_l, p.pad_r = b.pad_r;
  tte_conv_whole(&p, b.in_h, b.in_w);
  p.act_min = b.act_min;
  p.act_max = b.act_max;
  p.requant = b.requant == kRequantTflite ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32;
  if (p.requant == TTE_REQUANT_TFLITE && (b.mult < 0 || b.shift < 0 || b.bias_f32 >= 0))
    return Need(false, P, i, "layer " + b.name + ": TFLite requantization needs multipliers, shifts and an int32 bias");
  p.x_zero = b.x_zero;
  p.y_zero = b.y_zero;
  p.w.n_frozen = b.n_frozen;
  p.w.n_train = b.n_train;
  ids->w_frozen = b.w_frozen;
  ids->w_train = b.w_train;
  ids->slot = b.slot;
  ids->bias_f32 = b.bias_f32;
  ids->bias_i32 = b.bias_f32 >= 0 ? -1 : b.bias_i32;
  ids->eff = b.eff;
  ids->mult = b.mult;
  ids->shift = b.shift;
  return p;
}

void TrainParams(const ConvBinding& b, tte_conv_train* t, TrainTensorIds* ids) {
  t->cout = b.cout;
  t->n_train = b.n_train;
  t->kk = b.kk();
  t->depthwise = b.depthwise;
  ids->sel = b.sel;
  ids->qas_w = b.qas_w;
  ids->qas_b = b.qas_b;
  ids->w = b.train_weight ? b.w_train : -1;
  ids->w_master = b.w_master;
  ids->w_mom = b.w_mom;
  ids->b = b.train_bias && b.bias_f32 < 0 ? b.bias_i32 : -1;
  ids->b_master = b.train_bias ? b.bias_f32 : -1;
  ids->b_mom = b.b_mom;
}

tte_window Win(const Window& w) { return tte_window{w.y0, w.x0, w.h, w.w}; }

// c and hw of a [C, ...] tensor.
void ChannelsAndPlane(const TensorInfo& t, KernelArgs* a) {
  a->c = t.shape.empty() ? 1 : static_cast<int>(t.shape[0]);
  a->hw = a->c ? static_cast<int>(t.numel() / a->c) : 0;
}

}  // namespace

Result<KernelArgs> KernelArgsOf(const Program& P, size_t i) {
  const Op& op = P.ops[i];
  KernelArgs a;
  a.code = op.code;
  a.in0 = op.ins.size() > 0 ? op.ins[0] : -1;
  a.in1 = op.ins.size() > 1 ? op.ins[1] : -1;
  a.out0 = op.outs.size() > 0 ? op.outs[0] : -1;
  a.out1 = op.outs.size() > 1 ? op.outs[1] : -1;
  a.fused = op.fused_update;
  a.accumulate = op.accumulate;
  a.in_place = op.in_place;
  a.windowed = op.windowed;
  auto aux_in = [&](size_t size) { return Need(op.aux >= 0 && op.aux < static_cast<int>(size), P, i, "no binding " + std::to_string(op.aux)); };
  switch (op.code) {
    case OpCode::kConv:
    case OpCode::kConvBackwardInput: {
      TTE_ASSIGN_OR_RETURN(a.conv, ConvParams(P, i, op.conv, &a.conv_ids));
      if (op.windowed) {
        a.conv.in_buf = Win(op.windows.in_buf);
        a.conv.out = Win(op.windows.out);
        a.conv.out_buf = Win(op.windows.out_buf);
      }
      break;
    }
    case OpCode::kConvWeightGrad: {
      TTE_ASSIGN_OR_RETURN(a.conv, ConvParams(P, i, op.conv, &a.conv_ids));
      const ConvBinding& b = P.convs[static_cast<size_t>(op.conv)];
      TrainParams(b, &a.train, &a.train_ids);
      a.n = b.n_train;
      a.sel = b.sel;
      a.grad_w = b.grad_w;
      break;
    }
    case OpCode::kConvBiasGrad: {
      TTE_RETURN_IF_ERROR(Need(op.conv >= 0 && op.conv < static_cast<int>(P.convs.size()) && a.in0 >= 0, P, i, "no conv binding"));
      const ConvBinding& b = P.convs[static_cast<size_t>(op.conv)];
      TrainParams(b, &a.train, &a.train_ids);
      ChannelsAndPlane(P.tensors[static_cast<size_t>(a.in0)], &a);
      a.grad_b = b.grad_b;
      break;
    }
    case OpCode::kMaskScale:
      TTE_RETURN_IF_ERROR(Need(a.in0 >= 0, P, i, "no input"));
      ChannelsAndPlane(P.tensors[static_cast<size_t>(a.in0)], &a);
      a.conv_ids.eff = op.conv >= 0 ? P.convs[static_cast<size_t>(op.conv)].eff : -1;
      break;
    case OpCode::kAdd:
    case OpCode::kAddBackward: {
      TTE_RETURN_IF_ERROR(aux_in(P.adds.size()));
      const AddBinding& b = P.adds[static_cast<size_t>(op.aux)];
      a.add = tte_add_params{};
      a.add.n = b.n;
      a.add.z1 = b.z1, a.add.z2 = b.z2, a.add.zy = b.zy;
      a.add.s1 = b.s1, a.add.s2 = b.s2, a.add.sy = b.sy;
      a.add.act_min = b.act_min, a.add.act_max = b.act_max;
      a.add.requant = b.requant == kRequantTflite ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32;
      if (a.add.requant == TTE_REQUANT_TFLITE) tte_add_tflite_constants(b.s1d, b.s2d, b.syd, &a.add);
      break;
    }
    case OpCode::kAvgPool:
    case OpCode::kAvgPoolBackward: {
      TTE_RETURN_IF_ERROR(aux_in(P.pools.size()));
      const PoolBinding& b = P.pools[static_cast<size_t>(op.aux)];
      a.c = b.c;
      a.hw = b.in_h * b.in_w;
      a.pool2d = !(b.global && b.requant == kRequantFp32 && b.act_min == -128 && b.act_max == 127);
      a.pool = tte_pool_params{b.c, b.in_h, b.in_w, b.out_h, b.out_w, b.kh, b.kw, b.sh, b.sw, b.pad_t, b.pad_l,
                               b.act_min, b.act_max, b.requant == kRequantTflite ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32};
      break;
    }
    case OpCode::kMean:
    case OpCode::kMeanBackward: {
      TTE_RETURN_IF_ERROR(aux_in(P.means.size()));
      const MeanBinding& b = P.means[static_cast<size_t>(op.aux)];
      tte_mean_tflite_init(&a.mean, b.c, b.h * b.w, static_cast<float>(b.x_scale), b.x_zero, static_cast<float>(b.y_scale),
                           b.y_zero);
      break;
    }
    case OpCode::kPad:
    case OpCode::kPadBackward: {
      TTE_RETURN_IF_ERROR(aux_in(P.pads.size()));
      const PadBinding& b = P.pads[static_cast<size_t>(op.aux)];
      a.pad = tte_pad_params{b.c, b.h, b.w, {b.pad[0], b.pad[1]}, {b.pad[2], b.pad[3]}, {b.pad[4], b.pad[5]}, b.value};
      break;
    }
    case OpCode::kReshape:
    case OpCode::kReshapeBackward:
      TTE_RETURN_IF_ERROR(aux_in(P.reshapes.size()));
      a.reshape = P.reshapes[static_cast<size_t>(op.aux)];
      break;
    case OpCode::kSoftmax: {
      TTE_RETURN_IF_ERROR(aux_in(P.softmaxes.size()));
      const SoftmaxBinding& b = P.softmaxes[static_cast<size_t>(op.aux)];
      tte_softmax_tflite_init(&a.softmax, b.n, b.beta, b.x_scale);
      break;
    }
    case OpCode::kGatherChannels: {
      TTE_RETURN_IF_ERROR(Need(op.conv >= 0 && op.conv < static_cast<int>(P.convs.size()) && a.in0 >= 0, P, i, "no conv binding"));
      const ConvBinding& b = P.convs[static_cast<size_t>(op.conv)];
      a.n = b.n_train;
      a.sel = b.saved_sel;
      ChannelsAndPlane(P.tensors[static_cast<size_t>(a.in0)], &a);
      break;
    }
    case OpCode::kAccumulate:
      TTE_RETURN_IF_ERROR(Need(a.in0 >= 0 && a.out0 >= 0, P, i, "no tensors"));
      a.n = static_cast<int>(P.tensors[static_cast<size_t>(a.in0)].numel());
      break;
    case OpCode::kHeadForward:
    case OpCode::kHeadBackward:
    case OpCode::kLoss:
    case OpCode::kApplyUpdate: {
      const HeadBinding& h = P.head;
      a.head = tte_head_params{h.in, h.out, h.x_zero, h.x_scale};
      if (op.code == OpCode::kApplyUpdate && op.conv >= 0) {
        const ConvBinding& b = P.convs[static_cast<size_t>(op.conv)];
        TrainParams(b, &a.train, &a.train_ids);
        a.grad_w = b.grad_w;
        a.grad_b = b.grad_b;
      }
      break;
    }
  }
  return a;
}

}  // namespace tte
