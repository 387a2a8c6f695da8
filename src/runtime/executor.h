// Executor: runs a planned Program on the host inside ONE allocation made at start-up.
//
// The allocation holds [guard | arena | guard | state | guard]: the arena planned by src/memory (its size
// is exactly the plan's), then the persistent SRAM state (trainable parameters, masters, momentum,
// head), each surrounded by guard bytes. Flash tensors are read in place from the Program. Create()
// prepares every kernel call (all pointers and parameter structs) once; Step() only calls kernels, so
// a training step allocates nothing. In debug and test builds (TTE_DEBUG_GUARDS) the guards are
// checked after every step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "kernels/host/host_kernels.h"
#include "kernels/tte_kernels.h"

namespace tte {

struct ExecutorOptions {
  tte_sgd sgd{};              // lr and grad_scale (store, rounding and momentum come from the Program)
  uint32_t rng_seed = 1;      // stochastic rounding stream (device mode)
};

class Executor {
 public:
  // `prog` must outlive the executor and have every kArena tensor planned (offset >= 0). A program whose
  // arena and state need more than limits::kMaxExecutorBytes is refused before anything is allocated.
  static Result<std::unique_ptr<Executor>> Create(const Program* prog, int64_t arena_bytes,
                                                  const ExecutorOptions& options = {});
  ~Executor();

  // Pointer to a tensor's bytes (arena, state or flash).
  uint8_t* Data(int tensor);
  const uint8_t* Data(int tensor) const;
  int8_t* input() { return reinterpret_cast<int8_t*>(Data(prog_->input)); }

  // Runs every op once (one sample). `label` is used by the loss op (training programs).
  void Step(int label = 0);
  // Runs ops [begin, end) only.
  void RunOps(size_t begin, size_t end, int label);

  void SetLearningRate(float lr) { sgd_.lr = lr; }
  void SetGradScale(float s) { sgd_.grad_scale = s; }
  float last_loss() const;

  // Copies the persistent state (trained parameters, optimizer state) of another executor of the same program.
  void CopyStateFrom(const Executor& other);
  // The persistent state as bytes (a snapshot), and back (a snapshot of this executor's program).
  std::vector<uint8_t> SaveState() const;
  void RestoreState(const std::vector<uint8_t>& snapshot);

  // Verifies the guard bytes; returns an error naming the region that was overrun.
  Status CheckGuards() const;
  int64_t arena_bytes() const { return arena_bytes_; }
  int64_t state_bytes() const { return state_bytes_; }
  int64_t total_bytes() const { return static_cast<int64_t>(memory_.size()); }
  int64_t host_scratch_bytes() const { return static_cast<int64_t>(host_scratch_.size()); }

 private:
  struct Prepared;
  Executor() = default;
  Status Prepare();

  const Program* prog_ = nullptr;
  std::vector<uint8_t> memory_;
  uint8_t* arena_ = nullptr;
  uint8_t* state_ = nullptr;
  int64_t arena_bytes_ = 0, state_bytes_ = 0;
  std::vector<int64_t> state_offset_;  // by tensor id (kState)
  std::vector<Prepared> prepared_;
  std::vector<uint8_t> host_scratch_;  // host-only SIMD re-layouts (host_kernels.h); not device memory
  tte_sgd sgd_{};
  uint32_t rng_ = 1;
};

}  // namespace tte
