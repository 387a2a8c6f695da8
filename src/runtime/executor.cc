// Host executor (see executor.h).
#include "runtime/executor.h"

#include "compiler/kernel_args.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/limits.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TTE_ASAN 1
#endif

namespace tte {
namespace {

constexpr int64_t kGuardBytes = 64;
constexpr uint8_t kGuardByte = 0xA5;

int64_t Align8(int64_t v) { return (v + 7) / 8 * 8; }

}  // namespace

// One op with every pointer resolved: the shared KernelArgs (compiler/kernel_args.h) plus pointers.
struct Executor::Prepared {
  KernelArgs a;
  const uint16_t* sel = nullptr;
  void* in0 = nullptr;
  void* in1 = nullptr;
  void* out0 = nullptr;
  void* out1 = nullptr;
  float* hW = nullptr;
  float* hb = nullptr;
  float* hmW = nullptr;
  float* hmb = nullptr;
  float* hgW = nullptr;
  float* hgb = nullptr;
  float* grad_w = nullptr;
  float* grad_b = nullptr;
};

Executor::~Executor() = default;

uint8_t* Executor::Data(int id) {
  return const_cast<uint8_t*>(static_cast<const Executor*>(this)->Data(id));
}

const uint8_t* Executor::Data(int id) const {
  if (id < 0) return nullptr;
  const TensorInfo& t = prog_->tensors[id];
  switch (t.storage) {
    case Storage::kArena: return arena_ + t.offset;
    case Storage::kState: return state_ + state_offset_[id];
    case Storage::kFlash: return t.init.data();
  }
  return nullptr;
}

Result<std::unique_ptr<Executor>> Executor::Create(const Program* prog, int64_t arena_bytes,
                                                   const ExecutorOptions& options) {
  std::unique_ptr<Executor> e(new Executor());
  e->prog_ = prog;
  e->arena_bytes_ = arena_bytes;
  for (size_t i = 0; i < prog->tensors.size(); ++i) {
    const TensorInfo& t = prog->tensors[i];
    if (t.storage == Storage::kArena && (t.offset < 0 || t.offset + t.bytes() > arena_bytes))
      return Internal("executor: tensor '" + t.name + "' is not placed inside the " + std::to_string(arena_bytes) +
                      "-byte arena");
    if (t.storage == Storage::kFlash && static_cast<int64_t>(t.init.size()) != t.bytes())
      return Internal("executor: flash tensor '" + t.name + "' has no data");
  }
  // State layout: each tensor 8-byte aligned, in id order.
  e->state_offset_.assign(prog->tensors.size(), -1);
  int64_t st = 0;
  for (size_t i = 0; i < prog->tensors.size(); ++i) {
    if (prog->tensors[i].storage != Storage::kState) continue;
    e->state_offset_[i] = st;
    st += Align8(prog->tensors[i].bytes());
  }
  e->state_bytes_ = st;
  // The one allocation.
  int64_t total = kGuardBytes + Align8(arena_bytes) + kGuardBytes + st + kGuardBytes;
  if (arena_bytes > limits::kMaxExecutorBytes || st > limits::kMaxExecutorBytes || total > limits::kMaxExecutorBytes)
    return OutOfMemory("executor: the program needs " + std::to_string(arena_bytes) + " bytes of activations and " +
                       std::to_string(st) + " bytes of state, more than the limit of " +
                       std::to_string(limits::kMaxExecutorBytes) + " (is the input resolution " +
                       std::to_string(prog->resolution) + " right?)");
  e->memory_.assign(static_cast<size_t>(total), kGuardByte);
  e->arena_ = e->memory_.data() + kGuardBytes;
  e->state_ = e->arena_ + Align8(arena_bytes) + kGuardBytes;
  std::memset(e->arena_, 0, static_cast<size_t>(arena_bytes));
  for (size_t i = 0; i < prog->tensors.size(); ++i) {
    const TensorInfo& t = prog->tensors[i];
    if (t.storage != Storage::kState) continue;
    uint8_t* dst = e->state_ + e->state_offset_[i];
    if (!t.init.empty())
      std::memcpy(dst, t.init.data(), t.init.size());
    else
      std::memset(dst, 0, static_cast<size_t>(t.bytes()));
  }
  // Guard bytes of the alignment padding after the arena stay kGuardByte.
  std::memset(e->arena_ + arena_bytes, kGuardByte, static_cast<size_t>(Align8(arena_bytes) - arena_bytes));
#ifdef TTE_ASAN
  // Under AddressSanitizer the guards are poisoned: a kernel writing past the arena or the state is
  // reported at the faulting instruction, not only by CheckGuards after the step.
  ASAN_POISON_MEMORY_REGION(e->memory_.data(), kGuardBytes);
  ASAN_POISON_MEMORY_REGION(e->arena_ + arena_bytes, static_cast<size_t>(Align8(arena_bytes) - arena_bytes + kGuardBytes));
  ASAN_POISON_MEMORY_REGION(e->state_ + st, kGuardBytes);
#endif
  e->sgd_ = options.sgd;
  // The optimizer's storage mode, rounding and momentum are properties of the compiled program.
  e->sgd_.store = prog->train.store;
  e->sgd_.rounding = prog->train.rounding;
  e->sgd_.momentum = prog->train.momentum;
  e->rng_ = options.rng_seed ? options.rng_seed : 1;
  e->sgd_.rng = &e->rng_;
  if (e->sgd_.grad_scale == 0) e->sgd_.grad_scale = 1;
  TTE_RETURN_IF_ERROR(e->Prepare());
  return e;
}

void Executor::CopyStateFrom(const Executor& other) {
  if (other.prog_ == prog_ && other.state_bytes_ == state_bytes_)
    std::memcpy(state_, other.state_, static_cast<size_t>(state_bytes_));
}

std::vector<uint8_t> Executor::SaveState() const { return std::vector<uint8_t>(state_, state_ + state_bytes_); }

void Executor::RestoreState(const std::vector<uint8_t>& snapshot) {
  if (static_cast<int64_t>(snapshot.size()) == state_bytes_) std::memcpy(state_, snapshot.data(), snapshot.size());
}

Status Executor::CheckGuards() const {
#ifdef TTE_ASAN
  return Status::Ok();  // poisoned: ASan already stopped any write into a guard
#endif
  auto check = [&](const uint8_t* p, int64_t n, const char* what) -> Status {
    for (int64_t i = 0; i < n; ++i)
      if (p[i] != kGuardByte) return Internal(std::string("memory guard overwritten: ") + what);
    return Status::Ok();
  };
  TTE_RETURN_IF_ERROR(check(memory_.data(), kGuardBytes, "before the arena"));
  TTE_RETURN_IF_ERROR(check(arena_ + arena_bytes_, Align8(arena_bytes_) - arena_bytes_ + kGuardBytes, "after the arena"));
  TTE_RETURN_IF_ERROR(check(state_ + state_bytes_, kGuardBytes, "after the state"));
  return Status::Ok();
}

Status Executor::Prepare() {
  const Program& P = *prog_;
  auto f32 = [&](int id) { return reinterpret_cast<float*>(Data(id)); };
  prepared_.clear();
  prepared_.reserve(P.ops.size());
  for (size_t i = 0; i < P.ops.size(); ++i) {
    Prepared p;
    TTE_ASSIGN_OR_RETURN(p.a, KernelArgsOf(P, i));
    KernelArgs& a = p.a;
    p.in0 = Data(a.in0);
    p.in1 = Data(a.in1);
    p.out0 = Data(a.out0);
    p.out1 = Data(a.out1);
    const ConvTensorIds& c = a.conv_ids;
    a.conv.w.frozen = reinterpret_cast<const int8_t*>(Data(c.w_frozen));
    a.conv.w.train = reinterpret_cast<int8_t*>(Data(c.w_train));
    a.conv.w.slot = reinterpret_cast<const uint16_t*>(Data(c.slot));
    a.conv.bias_i32 = reinterpret_cast<const int32_t*>(Data(c.bias_i32));
    a.conv.bias_f32 = f32(c.bias_f32);
    a.conv.eff = f32(c.eff);
    a.conv.mult = reinterpret_cast<const int32_t*>(Data(c.mult));
    a.conv.shift = reinterpret_cast<const int32_t*>(Data(c.shift));
    const TrainTensorIds& t = a.train_ids;
    a.train.sel = reinterpret_cast<const uint16_t*>(Data(t.sel));
    a.train.qas_w = f32(t.qas_w);
    a.train.qas_b = f32(t.qas_b);
    a.train.w = reinterpret_cast<int8_t*>(Data(t.w));
    a.train.w_master = f32(t.w_master);
    a.train.w_mom = f32(t.w_mom);
    a.train.b = reinterpret_cast<int32_t*>(Data(t.b));
    a.train.b_master = f32(t.b_master);
    a.train.b_mom = f32(t.b_mom);
    p.sel = reinterpret_cast<const uint16_t*>(Data(a.sel));
    p.grad_w = f32(a.grad_w);
    p.grad_b = f32(a.grad_b);
    const HeadBinding& h = P.head;
    p.hW = f32(h.W);
    p.hb = f32(h.b);
    p.hmW = f32(h.mW);
    p.hmb = f32(h.mb);
    p.hgW = f32(h.gW);
    p.hgb = f32(h.gb);
    prepared_.push_back(p);
  }
  size_t scratch = 0;
  for (const Prepared& p : prepared_) {
    if (p.a.code == OpCode::kConv) scratch = std::max(scratch, host::ConvScratchBytes(p.a.conv));
    if (p.a.code == OpCode::kConvBackwardInput) scratch = std::max(scratch, host::ConvBackwardInputScratchBytes(p.a.conv));
  }
  host_scratch_.assign(scratch, 0);
  return Status::Ok();
}

float Executor::last_loss() const {
  if (prog_->loss < 0) return 0.0f;
  float v;
  std::memcpy(&v, Data(prog_->loss), sizeof v);
  return v;
}

void Executor::Step(int label) { RunOps(0, prepared_.size(), label); }

void Executor::RunOps(size_t begin, size_t end, int label) {
  const tte_sgd* opt = &sgd_;
  const host::Scratch scratch{host_scratch_.data(), host_scratch_.size()};
  for (size_t i = begin; i < end; ++i) {
    Prepared& p = prepared_[i];
    KernelArgs& a = p.a;
    const tte_sgd* fused_opt = a.fused ? opt : nullptr;
    const tte_conv_train* fused_train = a.fused ? &a.train : nullptr;
    switch (a.code) {
      case OpCode::kConv:
        if (a.in_place) {
          if (!host::ConvDepthwiseInPlace(&a.conv, static_cast<int8_t*>(p.out0), static_cast<uint8_t*>(p.out1), scratch))
            tte_conv_dw_inplace_s8(&a.conv, static_cast<int8_t*>(p.out0), static_cast<int8_t*>(p.in1),
                                   static_cast<uint8_t*>(p.out1));
        } else if (a.windowed)  // patch stage: the portable kernel handles windows
          tte_conv_s8(&a.conv, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0), nullptr);
        else
          host::Conv(&a.conv, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0),
                     static_cast<uint8_t*>(p.out1), scratch);
        break;
      case OpCode::kAdd:
        tte_add_s8(&a.add, static_cast<const int8_t*>(p.in0), static_cast<const int8_t*>(p.in1),
                   static_cast<int8_t*>(p.out0), static_cast<uint8_t*>(p.out1));
        break;
      case OpCode::kAvgPool:
        if (a.pool2d)
          tte_avgpool2d_s8(&a.pool, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0),
                           static_cast<uint8_t*>(p.out1));
        else
          tte_avgpool_s8(a.c, a.hw, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kMean:
        tte_mean_s8(&a.mean, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0), static_cast<uint8_t*>(p.out1));
        break;
      case OpCode::kPad:
        tte_pad_s8(&a.pad, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kReshape: {
        const ReshapeBinding& r = a.reshape;
        tte_reshape_hwc_s8(r.in_c, r.in_h, r.in_w, r.out_c, r.out_h, r.out_w, static_cast<const int8_t*>(p.in0),
                           static_cast<int8_t*>(p.out0));
        break;
      }
      case OpCode::kSoftmax:
        tte_softmax_s8(&a.softmax, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kGatherChannels:
        tte_gather_channels_s8(a.n, p.sel, a.hw, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kHeadForward:
        tte_head_forward(&a.head, p.hW, p.hb, static_cast<const int8_t*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kLoss:
        *static_cast<float*>(p.out1) =
            tte_softmax_xent(a.head.out, static_cast<const float*>(p.in0), label, static_cast<float*>(p.out0));
        break;
      case OpCode::kHeadBackward:
        tte_head_backward(&a.head, p.hW, p.hb, p.hmW, p.hmb, fused_opt, static_cast<const int8_t*>(p.in0),
                          static_cast<const float*>(p.in1), static_cast<float*>(p.out0), p.hgW, p.hgb);
        break;
      case OpCode::kAvgPoolBackward:
        if (a.pool2d)
          tte_avgpool2d_backward_f32(&a.pool, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        else
          tte_avgpool_backward_f32(a.c, a.hw, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kMeanBackward:
        tte_mean_backward_f32(&a.mean, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kPadBackward:
        tte_pad_backward_f32(&a.pad, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kReshapeBackward: {
        const ReshapeBinding& r = a.reshape;
        tte_reshape_hwc_backward_f32(r.in_c, r.in_h, r.in_w, r.out_c, r.out_h, r.out_w, static_cast<const float*>(p.in0),
                                     static_cast<float*>(p.out0));
        break;
      }
      case OpCode::kAddBackward:
        tte_add_backward_f32(&a.add, static_cast<float*>(p.in0), static_cast<const uint8_t*>(p.in1),
                             static_cast<float*>(p.out0), a.accumulate, static_cast<float*>(p.out1));
        break;
      case OpCode::kAccumulate:
        tte_accumulate_f32(a.n, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kMaskScale:
        tte_mask_scale_f32(a.c, a.hw, static_cast<float*>(p.in0), static_cast<const uint8_t*>(p.in1), a.conv.eff);
        break;
      case OpCode::kConvBiasGrad:
        tte_conv_bias_grad_f32(a.c, a.hw, static_cast<const float*>(p.in0), p.grad_b, fused_opt, fused_train);
        break;
      case OpCode::kConvBackwardInput:
        if (a.in_place) {
          if (!host::ConvDepthwiseBackwardInputInPlace(&a.conv, static_cast<float*>(p.out0), scratch))
            tte_conv_dw_backward_input_inplace_f32(&a.conv, static_cast<float*>(p.out0), static_cast<float*>(p.in1));
          break;
        }
        host::ConvBackwardInput(&a.conv, static_cast<const float*>(p.in0), static_cast<float*>(p.out0), a.accumulate,
                                scratch);
        break;
      case OpCode::kConvWeightGrad:
        host::ConvWeightGrad(&a.conv, a.n, p.sel, static_cast<const int8_t*>(p.in1), static_cast<const float*>(p.in0),
                             p.grad_w, fused_opt, fused_train, scratch);
        break;
      case OpCode::kApplyUpdate:
        if (p.grad_w || p.grad_b)
          tte_conv_apply_update(opt, &a.train, p.grad_w, p.grad_b);
        else
          tte_head_apply_update(&a.head, opt, p.hW, p.hb, p.hmW, p.hmb, p.hgW, p.hgb);
        break;
    }
  }
}

}  // namespace tte
