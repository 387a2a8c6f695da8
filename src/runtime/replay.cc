// Host replay of a device training run (see replay.h).
#include "runtime/replay.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace tte {

uint64_t Fnv1a64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

Status CheckDeviceTrainable(const Program& prog) {
  if (!prog.train.enabled || prog.loss < 0)
    return Unsupported("not a training program (the device runs training steps; use an inference runtime)");
  if (!prog.train.fused)
    return Unsupported(
        "updates are deferred to the end of the step (--no-reorder or a batch > 1): the device runs batch 1 with "
        "every update fused into the backward (operator reordering)");
  for (size_t i = 0; i < prog.ops.size(); ++i) {
    const Op& op = prog.ops[i];
    const bool grad_op = op.code == OpCode::kConvBiasGrad || op.code == OpCode::kConvWeightGrad ||
                         op.code == OpCode::kHeadBackward;
    if (op.code == OpCode::kApplyUpdate || (grad_op && !op.fused_update))
      return Unsupported("op #" + std::to_string(i) + " " + OpCodeName(op.code) +
                         " defers its update to a gradient buffer: the device runs fused updates only (batch 1)");
  }
  return Status::Ok();
}

std::vector<int> ChecksumTensors(const Program& prog) {
  std::vector<int> grads;
  for (const ConvBinding& b : prog.convs) {
    grads.push_back(b.grad_w);
    grads.push_back(b.grad_b);
  }
  grads.push_back(prog.head.gW);
  grads.push_back(prog.head.gb);
  std::vector<int> ids;
  for (size_t i = 0; i < prog.tensors.size(); ++i) {
    if (prog.tensors[i].storage != Storage::kState) continue;
    if (std::find(grads.begin(), grads.end(), static_cast<int>(i)) != grads.end()) continue;
    ids.push_back(static_cast<int>(i));
  }
  return ids;
}

uint64_t StateChecksum(const Program& prog, const Executor& exec) {
  uint64_t h = kFnvOffsetBasis;
  for (int id : ChecksumTensors(prog))
    h = Fnv1a64(exec.Data(id), static_cast<size_t>(prog.tensors[id].bytes()), h);
  return h;
}

Result<ReplayResult> ReplayTraining(const Program& prog, int64_t arena_bytes, const std::vector<int8_t>& samples,
                                    const std::vector<int32_t>& labels, const ReplayOptions& options) {
  TTE_RETURN_IF_ERROR(CheckDeviceTrainable(prog));
  if (prog.input < 0) return InvalidArgument("replay: the program has no input tensor");
  const size_t in_bytes = static_cast<size_t>(prog.tensors[prog.input].bytes());
  if (samples.size() != labels.size() * in_bytes)
    return InvalidArgument("replay: " + std::to_string(samples.size()) + " sample bytes for " +
                           std::to_string(labels.size()) + " labels of " + std::to_string(in_bytes) + " bytes each");
  ExecutorOptions eo;
  eo.sgd.lr = options.lr;
  eo.sgd.grad_scale = 1.0f;
  eo.rng_seed = options.rng_seed;
  TTE_ASSIGN_OR_RETURN(std::unique_ptr<Executor> exec, Executor::Create(&prog, arena_bytes, eo));
  ReplayResult r;
  r.initial_checksum = StateChecksum(prog, *exec);
  size_t loss_end = 0;  // ops up to and including the loss
  while (loss_end < prog.ops.size() && prog.ops[loss_end].code != OpCode::kLoss) ++loss_end;
  if (loss_end == prog.ops.size()) return InvalidArgument("replay: the program has no loss op");
  ++loss_end;
  for (size_t i = 0; i < labels.size(); ++i) {
    std::memcpy(exec->input(), samples.data() + i * in_bytes, in_bytes);
    exec->RunOps(0, loss_end, labels[i]);
    const bool skip = !std::isfinite(exec->last_loss());
    if (!skip) exec->RunOps(loss_end, prog.ops.size(), labels[i]);
    r.skipped.push_back(skip);
    TTE_RETURN_IF_ERROR(exec->CheckGuards());
    r.losses.push_back(exec->last_loss());
  }
  r.checksum = StateChecksum(prog, *exec);
  return r;
}

}  // namespace tte
