// A training batch on several threads with the one-thread result (batch_workers.h).
#include "runtime/batch_workers.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace tte {

Result<std::unique_ptr<BatchWorkers>> BatchWorkers::Create(const Program* prog, int64_t arena_bytes,
                                                           const ExecutorOptions& options, Executor* main, int threads) {
  std::unique_ptr<BatchWorkers> b(new BatchWorkers());
  b->prog_ = prog;
  b->main_ = main;
  for (int t = 1; t < threads; ++t) {
    TTE_ASSIGN_OR_RETURN(auto e, Executor::Create(prog, arena_bytes, options));
    b->workers_.push_back(std::move(e));
  }
  auto add = [&](int id) {
    if (id >= 0) b->grads_.emplace_back(id, prog->tensors[static_cast<size_t>(id)].numel());
  };
  for (const ConvBinding& c : prog->convs) {
    add(c.grad_w);
    add(c.grad_b);
  }
  add(prog->head.gW);
  add(prog->head.gb);
  int64_t total = 0;
  for (const auto& [id, n] : b->grads_) {
    if (prog->tensors[static_cast<size_t>(id)].dtype != DType::kFloat32)
      return Internal("batch workers: gradient buffer " + prog->tensors[static_cast<size_t>(id)].name + " is not fp32");
    total += n;
  }
  b->sum_.assign(static_cast<size_t>(total), 0.0f);
  b->SyncState();
  return b;
}

void BatchWorkers::SyncState() {
  for (auto& w : workers_) w->CopyStateFrom(*main_);
}

Status BatchWorkers::CheckGuards() const {
  TTE_RETURN_IF_ERROR(main_->CheckGuards());
  for (const auto& w : workers_) TTE_RETURN_IF_ERROR(w->CheckGuards());
  return Status::Ok();
}

Status BatchWorkers::Run(const Fetch& fetch, int n, size_t loss_end, size_t grad_end, int* labels, float* losses,
                         int* predictions) {
  std::fill(sum_.begin(), sum_.end(), 0.0f);
  std::mutex mu;
  std::condition_variable turn_cv;
  int turn = 0;  // the next sample whose gradient is added
  Status error;  // the first fetch error; every worker stops
  const int T = threads();
  const int classes = prog_->train.num_classes;
  auto work = [&](int t) {
    Executor* e = t == 0 ? main_ : workers_[static_cast<size_t>(t - 1)].get();
    for (int s = t; s < n; s += T) {
      Status st = fetch(s, e->input(), &labels[s]);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = st;
        turn_cv.notify_all();
        return;
      }
      e->RunOps(0, loss_end, labels[s]);
      losses[s] = e->last_loss();
      e->RunOps(loss_end, grad_end, labels[s]);
      const float* lg = reinterpret_cast<const float*>(e->Data(prog_->logits));
      int best = 0;
      for (int c = 1; c < classes; ++c)
        if (lg[c] > lg[best]) best = c;
      predictions[s] = best;
      std::unique_lock<std::mutex> lock(mu);
      turn_cv.wait(lock, [&] { return turn == s || !error.ok(); });
      if (!error.ok()) return;
      float* acc = sum_.data();
      for (const auto& [id, count] : grads_) {
        float* g = reinterpret_cast<float*>(e->Data(id));
        for (int64_t i = 0; i < count; ++i) acc[i] += g[i];
        std::memset(g, 0, static_cast<size_t>(count) * sizeof(float));
        acc += count;
      }
      ++turn;
      turn_cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < T && t < n; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  if (!error.ok()) return error;
  const float* acc = sum_.data();
  for (const auto& [id, count] : grads_) {
    std::memcpy(main_->Data(id), acc, static_cast<size_t>(count) * sizeof(float));
    acc += count;
  }
  return Status::Ok();
}

}  // namespace tte
