// SRAM / flash accounting and the budget check (see sram.h).
#include "memory/sram.h"

#include <algorithm>

#include "core/byte_size.h"

namespace tte {
namespace {

enum class Role {
  kNone,
  kTrainWeight,
  kBias,  // int32 bias: trainable in state, frozen in flash
  kMaster,
  kMomentum,
  kGradient,
  kHead,
  kFrozenWeight,
  kScale,
  kTable,
};

std::vector<Role> Roles(const Program& prog) {
  std::vector<Role> role(prog.tensors.size(), Role::kNone);
  auto set = [&](int id, Role r) {
    if (id >= 0 && id < static_cast<int>(role.size()) && role[id] == Role::kNone) role[id] = r;
  };
  for (const ConvBinding& b : prog.convs) {
    set(b.w_train, Role::kTrainWeight);
    set(b.w_frozen, Role::kFrozenWeight);
    set(b.bias_i32, Role::kBias);
    set(b.bias_f32, Role::kMaster);
    set(b.w_master, Role::kMaster);
    set(b.w_mom, Role::kMomentum);
    set(b.b_mom, Role::kMomentum);
    set(b.grad_w, Role::kGradient);
    set(b.grad_b, Role::kGradient);
    set(b.eff, Role::kScale);
    set(b.qas_w, Role::kScale);
    set(b.qas_b, Role::kScale);
    set(b.slot, Role::kTable);
    set(b.sel, Role::kTable);
  }
  const HeadBinding& h = prog.head;
  set(h.W, Role::kHead);
  set(h.b, Role::kHead);
  set(h.mW, Role::kMomentum);
  set(h.mb, Role::kMomentum);
  set(h.gW, Role::kGradient);
  set(h.gb, Role::kGradient);
  return role;
}

}  // namespace

MemoryReport AccountMemory(const Program& prog, const MemoryPlan& plan, const AccountingOptions& opt) {
  MemoryReport r;
  r.arena_bytes = plan.arena_bytes;
  r.reserve_bytes = opt.reserve_bytes;
  const std::vector<Role> role = Roles(prog);
  std::vector<MemoryItem> users;
  for (size_t id = 0; id < prog.tensors.size(); ++id) {
    const TensorInfo& t = prog.tensors[id];
    const int64_t n = t.bytes();
    if (t.storage == Storage::kState) {
      switch (role[id]) {
        case Role::kTrainWeight: r.trainable_weight_bytes += n; break;
        case Role::kBias: r.trainable_bias_bytes += n; break;
        case Role::kMaster: r.master_bytes += n; break;
        case Role::kMomentum: r.momentum_bytes += n; break;
        case Role::kGradient: r.gradient_buffer_bytes += n; break;
        case Role::kHead: r.head_bytes += n; break;
        default: r.other_state_bytes += n; break;
      }
      r.state_bytes += n;
      if (!t.init.empty()) r.state_init_bytes += n;  // zero-initialised state (momentum, gradients) is .bss
      users.push_back({t.name + " (state)", n});
    } else if (t.storage == Storage::kFlash) {
      switch (role[id]) {
        case Role::kFrozenWeight:
        case Role::kTrainWeight: r.frozen_weight_bytes += n; break;
        case Role::kBias: r.frozen_bias_bytes += n; break;
        case Role::kScale: r.scale_bytes += n; break;
        case Role::kTable: r.table_bytes += n; break;
        default: r.other_flash_bytes += n; break;
      }
    }
  }

  // The arena at its peak: what is live there, by kind and by tensor (alias groups once).
  const Lifetimes& lt = plan.lifetimes;
  std::vector<TensorKind> kind;
  bool any_scratch = false;
  for (const ArenaBuffer& b : lt.buffers) {
    kind.push_back(ClassifyTensor(prog, b.root));
    any_scratch |= kind.back() == TensorKind::kScratch;
  }
  if (lt.peak_op >= 0) {
    for (size_t bi = 0; bi < lt.buffers.size(); ++bi) {
      const ArenaBuffer& b = lt.buffers[bi];
      if (!b.live_at(lt.peak_op)) continue;
      r.peak_live_by_kind[static_cast<int>(kind[bi])] += b.bytes;
      users.push_back({prog.tensors[b.root].name + " (arena, live at " + plan.peak_op_label + ")", b.bytes});
    }
  }
  for (int op = 0; any_scratch && op < lt.num_ops; ++op) {
    int64_t scratch = 0;
    for (size_t bi = 0; bi < lt.buffers.size(); ++bi)
      if (kind[bi] == TensorKind::kScratch && lt.buffers[bi].live_at(op)) scratch += lt.buffers[bi].bytes;
    r.arena_scratch_bytes = std::max(r.arena_scratch_bytes, scratch);
  }
  if (r.reserve_bytes > 0) users.push_back({"stack/runtime reserve", r.reserve_bytes});

  r.trainable_sram_bytes = r.state_bytes;
  r.peak_sram_bytes = r.arena_bytes + r.kernel_scratch_bytes + r.state_bytes + r.reserve_bytes;
  r.code_bytes = kKernelLibraryCodeBytes + kRuntimeCodeBytes + kCodeBytesPerOp * static_cast<int64_t>(prog.ops.size());
  r.flash_bytes = r.frozen_weight_bytes + r.frozen_bias_bytes + r.scale_bytes + r.table_bytes +
                  r.other_flash_bytes + r.state_init_bytes + r.code_bytes;

  std::stable_sort(users.begin(), users.end(),
                   [](const MemoryItem& a, const MemoryItem& b) { return a.bytes > b.bytes; });
  if (static_cast<int>(users.size()) > opt.max_largest) users.resize(opt.max_largest);
  r.largest = std::move(users);
  return r;
}

Status CheckBudget(const MemoryReport& r, int64_t budget_bytes) {
  if (r.peak_sram_bytes <= budget_bytes) return Status::Ok();
  std::string msg = "peak SRAM " + FormatBytes(r.peak_sram_bytes) + " (" + FormatKb(r.peak_sram_bytes) +
                    ") does not fit the " + FormatBytes(budget_bytes) + " (" + FormatKb(budget_bytes) +
                    ") budget: " + FormatBytes(r.peak_sram_bytes - budget_bytes) + " over. ";
  if (r.state_bytes + r.reserve_bytes > budget_bytes)
    msg += "The persistent training state alone (" + FormatKb(r.state_bytes) + ": trainable weights " +
           FormatKb(r.trainable_weight_bytes) + ", biases " + FormatKb(r.trainable_bias_bytes) + ", masters " +
           FormatKb(r.master_bytes) + ", momentum " + FormatKb(r.momentum_bytes) + ", gradient buffers " +
           FormatKb(r.gradient_buffer_bytes) + ", head " + FormatKb(r.head_bytes) +
           ") plus the reserve exceeds the budget, whatever the arena plan: train fewer weights. ";
  else
    msg += "Arena " + FormatKb(r.arena_bytes) + " + state " + FormatKb(r.state_bytes) + " + reserve " +
           FormatKb(r.reserve_bytes) + ". ";
  msg += "Largest SRAM users:";
  for (size_t i = 0; i < r.largest.size(); ++i)
    msg += std::string(i ? "," : "") + " " + r.largest[i].name + " " + FormatKb(r.largest[i].bytes);
  return OutOfMemory(msg);
}

}  // namespace tte
