// The host training loop (see trainer.h).
#include "runtime/trainer.h"

#include "runtime/batch_workers.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

#include "core/progress.h"
#include "runtime/batch_workers.h"
#include "memory/plan_checker.h"
#include "memory/planner.h"

namespace tte {
namespace {

using Clock = std::chrono::steady_clock;

std::string ExplosionText(const DivergenceWatch& watch, double factor, int classes) {
  char why[160];
  std::snprintf(why, sizeof why,
                "the mean loss of the last %lld samples, %.4g, exceeds %.4g (%g x the larger of ln %d and the first loss)",
                static_cast<long long>(watch.window()), watch.window_mean(), watch.threshold(), factor, classes);
  return why;
}

// A loader thread that fills a ring of sample buffers in a given order.
class Prefetcher {
 public:
  Prefetcher(const Dataset& data, const SampleFormat& format, const Augmenter* aug, std::vector<size_t> order,
             uint64_t seed, uint64_t epoch)
      : data_(data), format_(format), aug_(aug), order_(std::move(order)), seed_(seed), epoch_(epoch) {
    const size_t slot = format.bytes();
    for (auto& s : slots_) s.pixels.resize(slot);
    thread_ = std::thread([this] { Run(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Blocks until sample k of the order is ready; returns its pixels and label.
  Status Get(size_t k, const int8_t** pixels, int* label) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return produced_ > k || !error_.ok(); });
    if (!error_.ok()) return error_;
    Slot& s = slots_[k % kSlots];
    *pixels = s.pixels.data();
    *label = s.label;
    return Status::Ok();
  }
  // Sample k has been consumed: its slot may be refilled once every sample before it has been consumed too
  // (batch workers release theirs in any order).
  void Release(size_t k) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_[k % kSlots] = true;
      while (released_[consumed_ % kSlots]) released_[consumed_++ % kSlots] = false;
    }
    cv_.notify_all();
  }

 private:
  static constexpr size_t kSlots = 8;
  struct Slot {
    std::vector<int8_t> pixels;
    int label = 0;
  };
  void Run() {
    for (size_t k = 0; k < order_.size(); ++k) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || k < consumed_ + kSlots; });
        if (stop_) return;
      }
      Slot& s = slots_[k % kSlots];
      const size_t i = order_[k];
      Status st = data_.Load(i, format_, aug_, SampleSeed(seed_, epoch_, i), s.pixels.data());
      s.label = data_.label(i);
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok()) {
        error_ = st;
      } else {
        produced_ = k + 1;
      }
      cv_.notify_all();
      if (!st.ok()) return;
    }
  }

  const Dataset& data_;
  SampleFormat format_;
  const Augmenter* aug_;
  std::vector<size_t> order_;
  uint64_t seed_, epoch_;
  Slot slots_[kSlots];
  std::mutex mu_;
  std::condition_variable cv_;
  size_t produced_ = 0, consumed_ = 0;
  bool released_[kSlots] = {};  // samples consumed_ .. consumed_ + kSlots - 1 released (by slot)
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace

DivergenceWatch::DivergenceWatch(int num_classes, double factor, int64_t run_samples)
    : floor_(std::log(static_cast<double>(std::max(2, num_classes)))),
      factor_(factor),
      window_(std::max<int64_t>(1, std::min(kWindow, run_samples))) {}

bool DivergenceWatch::Add(double loss) {
  if (baseline_ < 0) baseline_ = std::max(floor_, loss);
  if (static_cast<int64_t>(last_.size()) < window_) last_.push_back(loss);
  else last_[static_cast<size_t>(seen_ % window_)] = loss;
  ++seen_;
  if (seen_ < window_) return false;
  double sum = 0;
  for (double l : last_) sum += l;
  mean_ = sum / static_cast<double>(window_);
  return factor_ > 0 && mean_ > threshold();
}

Trainer::~Trainer() = default;

Result<std::unique_ptr<Trainer>> Trainer::Create(const ir::Graph& model, const Scheme& scheme, TrainOptions options,
                                                 TrainerConfig config) {
  std::unique_ptr<Trainer> t(new Trainer());
  if (config.batch < 1) return InvalidArgument("batch size must be at least 1");
  if (!(config.lr >= 0) || !std::isfinite(config.lr)) return InvalidArgument("learning rate must be a finite number >= 0");
  if (!(config.divergence_factor >= 0) || !std::isfinite(config.divergence_factor))
    return InvalidArgument("the divergence factor must be a finite number >= 0");
  options.fuse_updates = options.fuse_updates && config.batch == 1;
  t->config_ = config;
  TTE_ASSIGN_OR_RETURN(t->compiled_, CompileTraining(model, scheme, options));
  Program& P = t->compiled_.program;
  t->format_ = SampleFormatOf(model.input_spec);
  const TensorInfo& in = P.tensors[P.input];
  if (in.numel() != static_cast<int64_t>(t->format_.bytes()))
    return Internal("trainer: program input " + ShapeString(in.shape) + " differs from the model input " +
                    t->format_.Describe());
  TTE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(&P));
  TTE_RETURN_IF_ERROR(CheckPlan(P, plan));
  t->arena_bytes_ = plan.arena_bytes;  // the executor runs in exactly this arena
  for (size_t i = 0; i < P.ops.size(); ++i) {
    if (P.ops[i].code == OpCode::kHeadForward) t->head_forward_op_ = i;
    if (P.ops[i].code == OpCode::kLoss) t->loss_end_ = i + 1;
  }
  if (t->loss_end_ == 0) return Internal("the training program has no loss op");
  ExecutorOptions eo;
  eo.sgd.lr = 0;
  eo.sgd.grad_scale = 1.0f / static_cast<float>(config.batch);
  eo.rng_seed = static_cast<uint32_t>(config.seed * 2654435761u + 12345u) | 1u;
  t->exec_options_ = eo;
  TTE_ASSIGN_OR_RETURN(t->exec_, Executor::Create(&P, t->arena_bytes_, eo));
  return t;
}

double Trainer::LearningRate(int64_t update, int64_t per_epoch) const {
  const double base = config_.lr;
  const double warm = config_.warmup_epochs * static_cast<double>(per_epoch);
  const double total = static_cast<double>(config_.epochs) * static_cast<double>(per_epoch);
  if (update < warm) return base * static_cast<double>(update) / warm;
  const double decay = total - warm;
  if (decay <= 0) return base;
  return 0.5 * base * (1.0 + std::cos(M_PI * (static_cast<double>(update) - warm) / decay));
}

Result<double> Trainer::Evaluate(const Dataset& data, LogitRange* range) {
  const Program& P = compiled_.program;
  const size_t n = data.size();
  if (n == 0) return 0.0;
  const int threads = std::max(1, std::min<int>(config_.threads, static_cast<int>(n)));
  // Worker 0 uses the training executor; the others run on copies of its state.
  std::vector<std::unique_ptr<Executor>> extra;
  for (int t = 1; t < threads; ++t) {
    TTE_ASSIGN_OR_RETURN(auto e, Executor::Create(&P, arena_bytes_));
    e->CopyStateFrom(*exec_);
    extra.push_back(std::move(e));
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> correct{0};
  std::mutex mu;
  Status error;
  float lo = 0, hi = 0;
  Progress bar("eval", static_cast<int64_t>(n), config_.progress);
  std::atomic<int64_t> done{0};
  auto work = [&](Executor* e) {
    std::vector<int8_t> img(format_.bytes());
    float my_lo = 0, my_hi = 0;
    for (;;) {
      size_t i = next++;
      if (i >= n) break;
      Status st = data.Load(i, format_, nullptr, 0, img.data());
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        error = st;
        break;
      }
      std::memcpy(e->input(), img.data(), img.size());
      e->RunOps(0, head_forward_op_ + 1, 0);
      const float* lg = reinterpret_cast<const float*>(e->Data(P.logits));
      int best = 0;
      for (int k = 0; k < P.train.num_classes; ++k) {
        if (lg[k] > lg[best]) best = k;
        my_lo = std::min(my_lo, lg[k]);
        my_hi = std::max(my_hi, lg[k]);
      }
      if (best == data.label(i)) ++correct;
      ++done;
    }
    std::lock_guard<std::mutex> lock(mu);
    lo = std::min(lo, my_lo);
    hi = std::max(hi, my_hi);
  };
  std::vector<std::thread> pool;
  for (auto& e : extra) pool.emplace_back(work, e.get());
  std::atomic<bool> stop{false};
  std::thread monitor([&] {
    while (!stop) {
      bar.Update(done);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  work(exec_.get());
  for (auto& th : pool) th.join();
  stop = true;
  monitor.join();
  if (!error.ok()) return error;
  const double acc = 100.0 * static_cast<double>(correct) / static_cast<double>(n);
  char info[32];
  std::snprintf(info, sizeof info, "top-1 %.2f%%", acc);
  bar.Finish(info);
  last_range_ = LogitRange{lo, hi};
  if (range) *range = last_range_;
  return acc;
}

Status Trainer::Train(const Dataset& train, const Dataset* eval, const std::function<void(const EpochMetrics&)>& on_epoch) {
  const Program& P = compiled_.program;
  const int B = config_.batch;
  const size_t n = train.size();
  if (n < static_cast<size_t>(B))
    return InvalidArgument("the training set has " + std::to_string(n) + " samples, fewer than one batch of " + std::to_string(B));
  if (train.num_classes() > P.train.num_classes)
    return InvalidArgument("the training set has more classes than the head");
  const int64_t per_epoch = static_cast<int64_t>(n / B);  // drop_last, as the reference
  std::unique_ptr<Augmenter> aug;
  if (config_.augment) {
    TTE_ASSIGN_OR_RETURN(auto a, Augmenter::Create(config_.augment_config));
    aug = std::make_unique<Augmenter>(std::move(a));
  }
  const size_t update_begin = compiled_.update_begin, n_ops = P.ops.size();
  const bool deferred = update_begin < n_ops;
  int64_t update = 0;
  int64_t run_samples = per_epoch * B * config_.epochs;
  if (config_.max_updates >= 0) run_samples = std::min(run_samples, config_.max_updates * B);
  DivergenceWatch watch(P.train.num_classes, config_.divergence_factor, run_samples);
  auto snapshot = [&](int epoch) {
    if (!config_.keep_last_good) return;
    good_state_ = exec_->SaveState();
    good_range_ = last_range_;
    good_epoch_ = epoch;
  };
  snapshot(0);
  auto diverged = [&](int epoch, const std::string& why) {
    diverged_ = true;
    return InvalidArgument("training diverged at epoch " + std::to_string(epoch + 1) + ", update " + std::to_string(update) +
                           ": " + why + ": lower --lr (docs/training.md, divergence)");
  };
  std::unique_ptr<BatchWorkers> workers;
  std::vector<int> batch_labels, batch_preds;
  std::vector<float> batch_losses;
  if (deferred && B > 1 && config_.threads > 1) {
    TTE_ASSIGN_OR_RETURN(workers, BatchWorkers::Create(&P, arena_bytes_, exec_options_, exec_.get(),
                                                       std::min(config_.threads, B)));
    batch_labels.resize(static_cast<size_t>(B));
    batch_preds.resize(static_cast<size_t>(B));
    batch_losses.resize(static_cast<size_t>(B));
  }
  for (int epoch = 0; epoch < config_.epochs; ++epoch) {
    if (config_.max_updates >= 0 && update >= config_.max_updates) break;
    // Shuffle with the trainer's own generator (same order on every machine).
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    Rng rng(config_.seed * 1000003 + static_cast<uint64_t>(epoch));
    for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(i)))]);
    order.resize(static_cast<size_t>(per_epoch) * B);
    Prefetcher pf(train, format_, aug.get(), order, config_.seed, static_cast<uint64_t>(epoch));
    Progress bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.epochs),
                      static_cast<int64_t>(order.size()), config_.progress);
    EpochMetrics em;
    em.epoch = epoch + 1;
    double loss_sum = 0, compute_s = 0;
    int64_t right = 0, seen = 0;
    // One sample's bookkeeping, in sample order: the divergence rules, accuracy, loss.
    auto account = [&](float loss, int predicted, int label) -> Status {
      if (!std::isfinite(loss)) return diverged(epoch, "the loss is " + std::to_string(loss));
      right += predicted == label;
      const bool exploded = watch.Add(loss);
      em.max_window_loss = std::max(em.max_window_loss, watch.window_mean());
      em.loss_limit = watch.threshold();
      if (exploded) return diverged(epoch, ExplosionText(watch, config_.divergence_factor, P.train.num_classes));
      loss_sum += loss;
      ++seen;
      return Status::Ok();
    };
    auto progress = [&](size_t done) {
      char info[64];
      std::snprintf(info, sizeof info, "loss %.3f acc %.1f%% lr %.2g", loss_sum / static_cast<double>(seen),
                    100.0 * static_cast<double>(right) / static_cast<double>(seen), LearningRate(update, per_epoch));
      bar.Update(static_cast<int64_t>(done), info);
    };
    auto t0 = Clock::now();
    // Batches on several threads (bit-identical to one thread: batch_workers.h); the bookkeeping below
    // sees the samples in order, as the one-thread loop.
    for (size_t k0 = 0; workers && k0 < order.size(); k0 += static_cast<size_t>(B)) {
      exec_->SetLearningRate(static_cast<float>(LearningRate(update, per_epoch)));
      // Each worker takes its samples from the prefetch ring straight into its executor's input.
      auto fetch = [&](int s, int8_t* input, int* label) -> Status {
        const int8_t* px = nullptr;
        TTE_RETURN_IF_ERROR(pf.Get(k0 + static_cast<size_t>(s), &px, label));
        std::memcpy(input, px, format_.bytes());
        pf.Release(k0 + static_cast<size_t>(s));
        return Status::Ok();
      };
      auto c0 = Clock::now();
      TTE_RETURN_IF_ERROR(workers->Run(fetch, B, loss_end_, update_begin, batch_labels.data(), batch_losses.data(),
                                       batch_preds.data()));
      for (size_t s = 0; s < static_cast<size_t>(B); ++s)
        TTE_RETURN_IF_ERROR(account(batch_losses[s], batch_preds[s], batch_labels[s]));
      exec_->RunOps(update_begin, n_ops, 0);
      workers->SyncState();
      ++update;
      compute_s += std::chrono::duration<double>(Clock::now() - c0).count();
#ifdef TTE_DEBUG_GUARDS
      TTE_RETURN_IF_ERROR(workers->CheckGuards());
#endif
      progress(k0 + static_cast<size_t>(B));
      if (config_.max_updates >= 0 && update >= config_.max_updates) break;
    }
    for (size_t k = 0; !workers && k < order.size(); ++k) {
      if (k % B == 0) exec_->SetLearningRate(static_cast<float>(LearningRate(update, per_epoch)));
      const int8_t* px = nullptr;
      int label = 0;
      TTE_RETURN_IF_ERROR(pf.Get(k, &px, &label));
      auto c0 = Clock::now();
      std::memcpy(exec_->input(), px, format_.bytes());
      pf.Release(k);
      // The loss first: a sample whose loss is not finite stops the run before its update is applied.
      exec_->RunOps(0, loss_end_, label);
      const float loss = exec_->last_loss();
      if (!std::isfinite(loss)) return diverged(epoch, "the loss is " + std::to_string(loss));
      exec_->RunOps(loss_end_, update_begin, label);
      const float* lg = reinterpret_cast<const float*>(exec_->Data(P.logits));
      int best = 0;
      for (int c = 1; c < P.train.num_classes; ++c)
        if (lg[c] > lg[best]) best = c;
      TTE_RETURN_IF_ERROR(account(loss, best, label));
      if (k % B == static_cast<size_t>(B - 1)) {
        if (deferred) exec_->RunOps(update_begin, n_ops, 0);
        ++update;
      }
      compute_s += std::chrono::duration<double>(Clock::now() - c0).count();
#ifdef TTE_DEBUG_GUARDS
      TTE_RETURN_IF_ERROR(exec_->CheckGuards());
#endif
      if (k % 16 == 15 || k + 1 == order.size()) progress(k + 1);
      if (config_.max_updates >= 0 && update >= config_.max_updates) break;
    }
    em.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    em.updates = update;
    em.lr = LearningRate(update, per_epoch);
    em.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0;
    em.train_acc = seen ? 100.0 * static_cast<double>(right) / static_cast<double>(seen) : 0;
    em.ms_per_sample = seen ? 1000.0 * compute_s / static_cast<double>(seen) : 0;
    char info[96];
    std::snprintf(info, sizeof info, "loss %.3f acc %.1f%%, %.2f ms/sample", em.train_loss, em.train_acc, em.ms_per_sample);
    bar.Finish(info);
    const bool last = epoch + 1 == config_.epochs || (config_.max_updates >= 0 && update >= config_.max_updates);
    if (eval && (last || (config_.eval_every > 0 && (epoch + 1) % config_.eval_every == 0))) {
      TTE_ASSIGN_OR_RETURN(em.eval_acc, Evaluate(*eval));
    }
    if (on_epoch) on_epoch(em);
    snapshot(epoch + 1);
  }
  return Status::Ok();
}

Result<int> Trainer::RestoreLastGood() {
  if (good_epoch_ < 0 || !diverged_) return Internal("no good state was kept (keep_last_good is off, or the run did not diverge)");
  exec_->RestoreState(good_state_);
  last_range_ = good_range_;
  return good_epoch_;
}

Result<Model> Trainer::Export(const Model& base, const std::vector<std::string>& class_names) const {
  return ExportTrainedModel(base, compiled_.program, *exec_, class_names, last_range_);
}

Result<ir::Graph> Trainer::ExportGraph(const ir::Graph& base, const std::vector<std::string>& class_names) const {
  return TrainedGraph(base, compiled_.program, *exec_, class_names, last_range_);
}

}  // namespace tte
