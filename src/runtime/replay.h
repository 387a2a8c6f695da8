// Host replay of a device training run: the reference the generated C is compared against.
//
// A step whose loss is not finite skips its update entirely (no weight, bias, head or optimizer byte
// changes), as the generated tte_train_step() does on the device.
//
// ReplayTraining runs a planned, fused training Program with the host Executor on N samples, one step per
// sample, at a fixed learning rate and stochastic-rounding seed, exactly as the generated firmware's main.c
// does (src/codegen), and returns the loss of every step and the state checksum afterwards.
//
// The state checksum (the same definition is emitted as tte_state_checksum() in the generated tte_model.c):
//   FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the bytes of every kState tensor
//   in tensor-id order (TensorInfo::bytes() bytes each, no padding), gradient buffers excluded
//   (ConvBinding::grad_w/grad_b, HeadBinding::gW/gb). Byte order is the machine's: both the host and the
//   Cortex-M are little-endian.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "runtime/executor.h"

namespace tte {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// FNV-1a 64 of `n` bytes, continuing from `h`.
uint64_t Fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffsetBasis);

// OK iff `prog` is a training program the device runs: batch 1, every update fused into the backward (no
// deferred kApplyUpdate ops, no gradient buffers). The message says why not, naming the first offending op.
Status CheckDeviceTrainable(const Program& prog);

// The kState tensors the checksum covers, in id order.
std::vector<int> ChecksumTensors(const Program& prog);

// The checksum of an executor's current state.
uint64_t StateChecksum(const Program& prog, const Executor& exec);

struct ReplayOptions {
  float lr = 0.01f;
  uint32_t rng_seed = 1;  // stochastic-rounding stream (0 is treated as 1, like the Executor)
};

struct ReplayResult {
  std::vector<float> losses;      // one per step
  std::vector<bool> skipped;      // one per step: the loss was not finite, so nothing was updated
  uint64_t initial_checksum = 0;  // before the first step
  uint64_t checksum = 0;          // after the last step
};

// `samples` holds N inputs of bytes(prog.input) each, back to back; `labels` N labels. Fails for programs
// whose updates are not fused (the device runs batch 1 with fused updates only).
Result<ReplayResult> ReplayTraining(const Program& prog, int64_t arena_bytes, const std::vector<int8_t>& samples,
                                    const std::vector<int32_t>& labels, const ReplayOptions& options);

}  // namespace tte
