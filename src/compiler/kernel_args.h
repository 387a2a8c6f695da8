// KernelArgs: the ONE mapping from a Program op to the arguments of its kernel call (tte_kernels.h), shared by
// the host executor (src/runtime/executor.cc: resolves tensor ids to pointers and calls the kernel) and the C
// emitter (src/codegen/op_emitter.cc: prints the same parameter structs and tensor names), so the host and the
// device run the same calls by construction.
//
// Parameter structs come with every scalar field set and every pointer field NULL; the tensor ids that the
// caller must resolve into those pointers travel beside them (-1 = NULL).
#pragma once

#include <cstdint>

#include "compiler/program.h"
#include "core/status.h"
#include "kernels/tte_kernels.h"

namespace tte {

// Pointer fields of tte_conv_params, as tensor ids.
struct ConvTensorIds {
  int w_frozen = -1, w_train = -1, slot = -1, bias_i32 = -1, bias_f32 = -1, eff = -1, mult = -1, shift = -1;
};

// Pointer fields of tte_conv_train, as tensor ids.
struct TrainTensorIds {
  int sel = -1, qas_w = -1, qas_b = -1, w = -1, w_master = -1, w_mom = -1, b = -1, b_master = -1, b_mom = -1;
};

struct KernelArgs {
  OpCode code = OpCode::kConv;
  // Tensors in the kernel's argument order (-1 = NULL): see each op in program.h.
  int in0 = -1, in1 = -1, out0 = -1, out1 = -1;
  bool fused = true, accumulate = false, in_place = false, windowed = false;

  tte_conv_params conv{};      // kConv, kConvBackwardInput, kConvWeightGrad (windows of a patch op applied)
  ConvTensorIds conv_ids;
  tte_conv_train train{};      // kConvBiasGrad, kConvWeightGrad, kApplyUpdate (fused or applying)
  TrainTensorIds train_ids;
  int grad_w = -1, grad_b = -1;  // gradient buffers (non-fused programs)
  tte_add_params add{};        // kAdd, kAddBackward
  tte_head_params head{};      // head ops, kLoss (head.out classes), kApplyUpdate of the head
  bool pool2d = false;         // kAvgPool(Backward): windowed or TFLite pooling (tte_avgpool2d_*) with `pool`;
  tte_pool_params pool{};      //   false: the .pkl's global pool (tte_avgpool_s8 over c x hw)
  tte_mean_params mean{};      // kMean, kMeanBackward
  tte_pad_params pad{};        // kPad, kPadBackward
  ReshapeBinding reshape;      // kReshape, kReshapeBackward (in and out dims)
  tte_softmax_params softmax{};  // kSoftmax
  int c = 0, hw = 0;           // channel-wise kernels: channels and plane size
  int n = 0;                   // kGatherChannels / kConvWeightGrad: trainable rows; kAccumulate: elements
  int sel = -1;                // kGatherChannels: saved-channel table; kConvWeightGrad: selection table
};

// Arguments of op `i` of `prog`; fails (naming the op) when a binding is missing or the kernels cannot run it.
Result<KernelArgs> KernelArgsOf(const Program& prog, size_t i);

}  // namespace tte
