// Host executor (see executor.h).
#include "runtime/executor.h"

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

// One op with every pointer and parameter struct resolved.
struct Executor::Prepared {
  OpCode code;
  tte_conv_params conv{};
  tte_add_params add{};
  tte_head_params head{};
  tte_conv_train train{};
  bool fused = true;
  bool accumulate = false;
  bool in_place = false;
  bool windowed = false;
  int32_t c = 0, hw = 0, n = 0;
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
  auto bind_conv = [&](int index, tte_conv_params* cp) {
    const ConvBinding& b = P.convs[index];
    cp->cin = b.cin;
    cp->cout = b.cout;
    cp->k = b.k;
    cp->stride = b.stride;
    cp->pad = b.pad;
    cp->groups = b.groups;
    tte_conv_whole(cp, b.in_hw, b.in_hw);
    cp->x_zero = b.x_zero;
    cp->y_zero = b.y_zero;
    cp->w.frozen = reinterpret_cast<const int8_t*>(Data(b.w_frozen));
    cp->w.train = reinterpret_cast<int8_t*>(Data(b.w_train));
    cp->w.slot = reinterpret_cast<const uint16_t*>(Data(b.slot));
    cp->w.n_frozen = b.n_frozen;
    cp->w.n_train = b.n_train;
    cp->bias_f32 = f32(b.bias_f32);
    cp->bias_i32 = cp->bias_f32 ? nullptr : reinterpret_cast<const int32_t*>(Data(b.bias_i32));
    cp->eff = f32(b.eff);
  };
  auto bind_train = [&](int index, tte_conv_train* t) {
    const ConvBinding& b = P.convs[index];
    t->cout = b.cout;
    t->n_train = b.n_train;
    t->kk = b.k * b.k;
    t->depthwise = b.depthwise;
    t->sel = reinterpret_cast<const uint16_t*>(Data(b.sel));
    t->qas_w = f32(b.qas_w);
    t->qas_b = f32(b.qas_b);
    t->w = b.train_weight ? reinterpret_cast<int8_t*>(Data(b.w_train)) : nullptr;
    t->w_master = f32(b.w_master);
    t->w_mom = f32(b.w_mom);
    t->b = (b.train_bias && b.bias_f32 < 0) ? reinterpret_cast<int32_t*>(Data(b.bias_i32)) : nullptr;
    t->b_master = b.train_bias ? f32(b.bias_f32) : nullptr;
    t->b_mom = f32(b.b_mom);
  };
  prepared_.clear();
  prepared_.reserve(P.ops.size());
  for (const Op& op : P.ops) {
    Prepared p;
    p.code = op.code;
    p.fused = op.fused_update;
    p.accumulate = op.accumulate;
    p.in_place = op.in_place;
    p.in0 = op.ins.size() > 0 ? Data(op.ins[0]) : nullptr;
    p.in1 = op.ins.size() > 1 ? Data(op.ins[1]) : nullptr;
    p.out0 = op.outs.size() > 0 ? Data(op.outs[0]) : nullptr;
    p.out1 = op.outs.size() > 1 ? Data(op.outs[1]) : nullptr;
    const TensorInfo* in0 = op.ins.empty() ? nullptr : &P.tensors[op.ins[0]];
    switch (op.code) {
      case OpCode::kConv:
      case OpCode::kConvBackwardInput:
        bind_conv(op.conv, &p.conv);
        if (op.windowed) {
          auto win = [](const Window& w) { return tte_window{w.y0, w.x0, w.h, w.w}; };
          p.conv.in_buf = win(op.windows.in_buf);
          p.conv.out = win(op.windows.out);
          p.conv.out_buf = win(op.windows.out_buf);
          p.windowed = true;
        }
        break;
      case OpCode::kConvWeightGrad:
        bind_conv(op.conv, &p.conv);
        bind_train(op.conv, &p.train);
        p.n = P.convs[op.conv].n_train;
        p.sel = reinterpret_cast<const uint16_t*>(Data(P.convs[op.conv].sel));
        p.grad_w = f32(P.convs[op.conv].grad_w);
        break;
      case OpCode::kConvBiasGrad:
        bind_train(op.conv, &p.train);
        p.c = static_cast<int32_t>(in0->shape[0]);
        p.hw = static_cast<int32_t>(in0->numel() / in0->shape[0]);
        p.grad_b = f32(P.convs[op.conv].grad_b);
        break;
      case OpCode::kMaskScale:
        p.c = static_cast<int32_t>(in0->shape[0]);
        p.hw = static_cast<int32_t>(in0->numel() / in0->shape[0]);
        p.conv.eff = op.conv >= 0 ? f32(P.convs[op.conv].eff) : nullptr;
        break;
      case OpCode::kAdd:
      case OpCode::kAddBackward: {
        const AddBinding& a = P.adds[op.block];
        p.add = tte_add_params{a.n, a.z1, a.z2, a.zy, a.s1, a.s2, a.sy};
        break;
      }
      case OpCode::kAvgPool:
        p.c = static_cast<int32_t>(in0->shape[0]);
        p.hw = static_cast<int32_t>(in0->numel() / in0->shape[0]);
        break;
      case OpCode::kAvgPoolBackward: {
        const TensorInfo& g = P.tensors[op.outs[0]];
        p.c = static_cast<int32_t>(g.shape[0]);
        p.hw = static_cast<int32_t>(g.numel() / g.shape[0]);
        break;
      }
      case OpCode::kGatherChannels: {
        const ConvBinding& b = P.convs[op.conv];
        p.n = b.n_train;
        p.sel = reinterpret_cast<const uint16_t*>(Data(b.sel));
        p.hw = static_cast<int32_t>(in0->numel() / in0->shape[0]);
        break;
      }
      case OpCode::kHeadForward:
      case OpCode::kHeadBackward:
      case OpCode::kLoss:
      case OpCode::kApplyUpdate: {
        const HeadBinding& h = P.head;
        p.head = tte_head_params{h.in, h.out, h.x_zero, h.x_scale};
        p.hW = f32(h.W);
        p.hb = f32(h.b);
        p.hmW = f32(h.mW);
        p.hmb = f32(h.mb);
        p.hgW = f32(h.gW);
        p.hgb = f32(h.gb);
        p.n = h.out;
        if (op.code == OpCode::kApplyUpdate && op.conv >= 0) {
          bind_train(op.conv, &p.train);
          p.grad_w = f32(P.convs[op.conv].grad_w);
          p.grad_b = f32(P.convs[op.conv].grad_b);
        }
        break;
      }
    }
    prepared_.push_back(p);
  }
  size_t scratch = 0;
  for (const Prepared& p : prepared_) {
    if (p.code == OpCode::kConv) scratch = std::max(scratch, host::ConvScratchBytes(p.conv));
    if (p.code == OpCode::kConvBackwardInput) scratch = std::max(scratch, host::ConvBackwardInputScratchBytes(p.conv));
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
    switch (p.code) {
      case OpCode::kConv:
        if (p.in_place) {
          if (!host::ConvDepthwiseInPlace(&p.conv, static_cast<int8_t*>(p.out0), static_cast<uint8_t*>(p.out1), scratch))
            tte_conv_dw_inplace_s8(&p.conv, static_cast<int8_t*>(p.out0), static_cast<int8_t*>(p.in1),
                                   static_cast<uint8_t*>(p.out1));
        } else if (p.windowed)  // patch stage: the portable kernel handles windows
          tte_conv_s8(&p.conv, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0), nullptr);
        else
          host::Conv(&p.conv, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0),
                     static_cast<uint8_t*>(p.out1), scratch);
        break;
      case OpCode::kAdd:
        tte_add_s8(&p.add, static_cast<const int8_t*>(p.in0), static_cast<const int8_t*>(p.in1),
                   static_cast<int8_t*>(p.out0), static_cast<uint8_t*>(p.out1));
        break;
      case OpCode::kAvgPool:
        tte_avgpool_s8(p.c, p.hw, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kGatherChannels:
        tte_gather_channels_s8(p.n, p.sel, p.hw, static_cast<const int8_t*>(p.in0), static_cast<int8_t*>(p.out0));
        break;
      case OpCode::kHeadForward:
        tte_head_forward(&p.head, p.hW, p.hb, static_cast<const int8_t*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kLoss:
        *static_cast<float*>(p.out1) =
            tte_softmax_xent(p.n, static_cast<const float*>(p.in0), label, static_cast<float*>(p.out0));
        break;
      case OpCode::kHeadBackward:
        tte_head_backward(&p.head, p.hW, p.hb, p.hmW, p.hmb, p.fused ? opt : nullptr, static_cast<const int8_t*>(p.in0),
                          static_cast<const float*>(p.in1), static_cast<float*>(p.out0), p.hgW, p.hgb);
        break;
      case OpCode::kAvgPoolBackward:
        tte_avgpool_backward_f32(p.c, p.hw, static_cast<const float*>(p.in0), static_cast<float*>(p.out0));
        break;
      case OpCode::kAddBackward:
        tte_add_backward_f32(&p.add, static_cast<float*>(p.in0), static_cast<const uint8_t*>(p.in1),
                             static_cast<float*>(p.out0), p.accumulate, static_cast<float*>(p.out1));
        break;
      case OpCode::kMaskScale:
        tte_mask_scale_f32(p.c, p.hw, static_cast<float*>(p.in0), static_cast<const uint8_t*>(p.in1), p.conv.eff);
        break;
      case OpCode::kConvBiasGrad:
        tte_conv_bias_grad_f32(p.c, p.hw, static_cast<const float*>(p.in0), p.grad_b, p.fused ? opt : nullptr,
                               p.fused ? &p.train : nullptr);
        break;
      case OpCode::kConvBackwardInput:
        if (p.in_place) {
          if (!host::ConvDepthwiseBackwardInputInPlace(&p.conv, static_cast<float*>(p.out0), scratch))
            tte_conv_dw_backward_input_inplace_f32(&p.conv, static_cast<float*>(p.out0), static_cast<float*>(p.in1));
          break;
        }
        host::ConvBackwardInput(&p.conv, static_cast<const float*>(p.in0), static_cast<float*>(p.out0), p.accumulate,
                                scratch);
        break;
      case OpCode::kConvWeightGrad:
        host::ConvWeightGrad(&p.conv, p.n, p.sel, static_cast<const int8_t*>(p.in1), static_cast<const float*>(p.in0),
                             p.grad_w, p.fused ? opt : nullptr, p.fused ? &p.train : nullptr, scratch);
        break;
      case OpCode::kApplyUpdate:
        if (p.grad_w || p.grad_b)
          tte_conv_apply_update(opt, &p.train, p.grad_w, p.grad_b);
        else
          tte_head_apply_update(&p.head, opt, p.hW, p.hb, p.hmW, p.hmb, p.hgW, p.hgb);
        break;
    }
  }
}

}  // namespace tte
