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
  // The kernels take one square kernel, one stride and symmetric padding, the int8 clamp and fp32 requantization.
  const bool square = b.kh == b.kw && b.sh == b.sw && b.dh == 1 && b.dw == 1 && b.pad_t == b.pad_b && b.pad_l == b.pad_r &&
                      b.pad_t == b.pad_l;
  if (!square || b.act_min != -128 || b.act_max != 127 || b.requant != kRequantFp32 || (b.depthwise && b.cout != b.cin))
    return Unsupported("layer " + b.name + ": its geometry or arithmetic (kernel " + std::to_string(b.kh) + "x" +
                       std::to_string(b.kw) + ", stride " + std::to_string(b.sh) + "x" + std::to_string(b.sw) +
                       ", activation range, requantization) is not supported by the kernels yet");
  tte_conv_params p{};
  p.cin = b.cin;
  p.cout = b.cout;
  p.k = b.kh;
  p.stride = b.sh;
  p.pad = b.pad_t;
  p.groups = b.groups;
  tte_conv_whole(&p, b.in_h, b.in_w);
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
      if (b.requant != kRequantFp32 || b.act_min != -128 || b.act_max != 127)
        return Unsupported("op #" + std::to_string(i) + " add: TFLite arithmetic or a fused activation is not supported by the kernels yet");
      a.add = tte_add_params{b.n, b.z1, b.z2, b.zy, b.s1, b.s2, b.sy};
      break;
    }
    case OpCode::kAvgPool:
    case OpCode::kAvgPoolBackward: {
      TTE_RETURN_IF_ERROR(aux_in(P.pools.size()));
      const PoolBinding& b = P.pools[static_cast<size_t>(op.aux)];
      if (!b.global || b.requant != kRequantFp32)
        return Unsupported("op #" + std::to_string(i) + " avgpool: windowed or TFLite pooling is not supported by the kernels yet");
      a.c = b.c;
      a.hw = b.in_h * b.in_w;
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
    case OpCode::kMean:
    case OpCode::kPad:
    case OpCode::kReshape:
    case OpCode::kSoftmax:
    case OpCode::kMeanBackward:
    case OpCode::kPadBackward:
    case OpCode::kReshapeBackward:
      return Unsupported(std::string("op #") + std::to_string(i) + " " + OpCodeName(op.code) + ": no kernel yet");
  }
  return a;
}

}  // namespace tte
