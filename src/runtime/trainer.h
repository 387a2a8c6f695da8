// Trainer: the host training loop of `tte train`.
//
// Compiles the training program once, plans it, and runs it sample by sample in one Executor (the same
// kernels the MCU runs). Batches of B > 1 accumulate gradients in buffers and update once per batch
// (lr is per update, the gradient is the batch mean, as the reference's mean cross-entropy); B = 1 fuses
// every update into the backward (operator reordering). A loader thread prepares (and augments) the
// next samples while the current one trains. The learning rate follows the reference's schedule per
// update: linear warm-up from 0, then cosine decay to 0. Batches of B > 1 run on config.threads threads (each
// its own arena from the same plan), bit-identical to one thread (runtime/batch_workers.h).
//
// Divergence (docs/training.md) stops the run with an error: a sample whose loss is not finite, before
// its update is applied, or a loss explosion: the mean loss of the last W samples above
// `divergence_factor` x max(ln(classes), the run's first loss), W = min(32, the samples of the run).
// With keep_last_good, the state at the end of the last good epoch (or the start) can be restored.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/train_compiler.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "runtime/executor.h"
#include "runtime/export.h"
#include "runtime/export_tflite.h"

namespace tte {

struct TrainerConfig {
  int epochs = 1;
  int64_t max_updates = -1;     // stop after this many updates (-1: run all epochs)
  int batch = 1;
  float lr = 0.01f;             // base learning rate per update
  float warmup_epochs = 0.0f;   // linear warm-up from 0 (fractions allowed)
  bool augment = true;
  AugmentConfig augment_config;
  uint64_t seed = 0;
  int eval_every = 1;           // epochs between evaluations (the last epoch is always evaluated)
  int threads = 2;              // evaluation threads, and training threads of batches > 1 (batch_workers.h:
                                // the result does not depend on it)
  bool progress = true;
  double divergence_factor = 10;  // the explosion rule above (0: only non-finite losses stop the run)
  bool keep_last_good = false;    // snapshot the state after every good epoch (RestoreLastGood)
};

// The explosion rule of a run (see above).
class DivergenceWatch {
 public:
  static constexpr int64_t kWindow = 32;
  DivergenceWatch(int num_classes, double factor, int64_t run_samples);
  // Adds one sample's loss; true when the rule fires.
  bool Add(double loss);
  double window_mean() const { return mean_; }
  double threshold() const { return factor_ * baseline_; }
  int64_t window() const { return window_; }

 private:
  double floor_, factor_;
  int64_t window_;
  double baseline_ = -1, mean_ = 0;
  std::vector<double> last_;
  int64_t seen_ = 0;
};

struct EpochMetrics {
  int epoch = 0;
  int64_t updates = 0;
  double lr = 0;                // at the end of the epoch
  double train_loss = 0, train_acc = 0;  // under augmentation, as the samples were trained on
  double eval_acc = -1;         // -1: not evaluated this epoch
  double seconds = 0;           // wall time of the epoch (training only)
  double ms_per_sample = 0;     // compute time of one training sample (forward + backward + update)
  double max_window_loss = 0;   // the largest mean loss over the divergence window in this epoch
  double loss_limit = 0;        // the divergence rule's limit on that mean (see above)
};

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> Create(const ir::Graph& model, const Scheme& scheme, TrainOptions options,
                                                 TrainerConfig config);
  ~Trainer();

  // Top-1 accuracy (percent) of the current parameters on `data`; records the fp32 logit range.
  Result<double> Evaluate(const Dataset& data, LogitRange* range = nullptr);
  // Trains; calls on_epoch after every epoch.
  Status Train(const Dataset& train, const Dataset* eval, const std::function<void(const EpochMetrics&)>& on_epoch);
  // The trained parameters written back into `base` (the .pkl model the graph was imported from).
  Result<Model> Export(const Model& base, const std::vector<std::string>& class_names) const;
  // The trained parameters written into `base` (the graph the program was compiled from), the head
  // quantized into its classifier (export_tflite.h: TrainedGraph).
  Result<ir::Graph> ExportGraph(const ir::Graph& base, const std::vector<std::string>& class_names) const;
  // After a Train that diverged (config keep_last_good): puts back the state of the end of the last
  // epoch that completed before the divergence (0: the start of the run) and returns that epoch.
  Result<int> RestoreLastGood();
  bool diverged() const { return diverged_; }

  const CompiledTraining& compiled() const { return compiled_; }
  int64_t arena_bytes() const { return arena_bytes_; }
  const Executor& executor() const { return *exec_; }
  double LearningRate(int64_t update, int64_t updates_per_epoch) const;

 private:
  Trainer() = default;

  TrainerConfig config_;
  SampleFormat format_;  // the model's input sample (the datasets' Load argument)
  CompiledTraining compiled_;
  int64_t arena_bytes_ = 0;
  size_t head_forward_op_ = 0;
  std::unique_ptr<Executor> exec_;
  ExecutorOptions exec_options_;
  LogitRange last_range_;
  size_t loss_end_ = 0;  // ops [0, loss_end_) compute the loss; nothing is updated before
  std::vector<uint8_t> good_state_;
  LogitRange good_range_;
  int good_epoch_ = -1;
  bool diverged_ = false;
};

}  // namespace tte
