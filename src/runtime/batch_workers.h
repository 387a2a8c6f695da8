// BatchWorkers: the samples of one training batch on several threads, bit-identical to one thread.
//
// With deferred updates (batch > 1) a step's gradient buffers (ConvBinding::grad_w / grad_b, the head's gW / gb)
// receive one complete value per element and sample (`buf[i] += g_s[i]`, tte_kernels.h), so the batch gradient is
// ((0 + g_0) + g_1) + ... in sample order. Here worker t (its own Executor: its own arena from the same plan and a
// copy of the state) computes samples t, t + T, t + 2T, ... up to the update ops; each finished sample waits for
// its turn and adds its gradient buffers into one accumulator in sample order, then zeroes them. After the
// batch the accumulator is the sum one thread would have built, element for element, whatever T is; it is
// copied into the first executor's buffers and the caller runs the update ops there, then the state is copied
// to the other workers. Losses and predictions come back per sample, so the caller's bookkeeping (divergence
// rule, metrics) sees them in sample order too. Each worker fetches its samples straight into its executor's
// input (the caller's prefetch ring), so a batch never exists as a whole in memory (64 samples of 128x128x3 would
// be 3 MB).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "runtime/executor.h"

namespace tte {

class BatchWorkers {
 public:
  // `main` is worker 0 (the trainer's executor); threads - 1 more executors are created like it.
  static Result<std::unique_ptr<BatchWorkers>> Create(const Program* prog, int64_t arena_bytes,
                                                      const ExecutorOptions& options, Executor* main, int threads);
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // fetch(s, input, &label) writes sample s into an executor's input and gives its label; it is called from
  // the worker threads, for s in any order, each s once.
  using Fetch = std::function<Status(int s, int8_t* input, int* label)>;
  // Runs ops [0, grad_end) for samples [0, n), leaves the summed gradient in main's gradient buffers;
  // labels[s], losses[s] and predictions[s] per sample. main's gradient buffers must be zero (as after an
  // update) and the other workers' state equal to main's (SyncState). A fetch error stops every worker and is
  // returned (the gradient buffers are then undefined).
  Status Run(const Fetch& fetch, int n, size_t loss_end, size_t grad_end, int* labels, float* losses, int* predictions);
  // After main's state changed (an update): copies it to every worker.
  void SyncState();
  Status CheckGuards() const;

 private:
  BatchWorkers() = default;
  const Program* prog_ = nullptr;
  Executor* main_ = nullptr;
  std::vector<std::unique_ptr<Executor>> workers_;
  std::vector<std::pair<int, int64_t>> grads_;  // gradient buffer tensors (id, floats)
  std::vector<float> sum_;
};

}  // namespace tte
