// Contribution analysis (`tte analyze`): how much accuracy each trainable piece of a model buys, measured by
// short fine-tuning runs on a proxy split, as in the MCUNetV3 paper (section 3.2, "contribution analysis").
//
// Runs, all with a fresh head and the same data order, seed and settings (so they differ only in what they train):
//   baseline            the head only (the frozen-backbone accuracy every gain is measured against)
//   bias k              the head and the biases of the last k layers (k = 1 .. n; the paper's Delta acc_b[k])
//   weight i @ r        the head and the weights of layer i at ratio r (floor(r C) selection channels chosen
//                       by magnitude, as the reference; no bias): Delta acc_W[i, r]
// gain = top-1 of the run - top-1 of the baseline, in percentage points.
//
// Every run is independent and cached on disk under a content hash of what determines its result (the model
// file's bytes, the data description, the settings, the run); a cached run is never repeated, and every file is
// written atomically (temp + rename), so an analysis that is killed resumes where it stopped. Runs are spread
// over processes by index (run j belongs to rank j mod size): `mpirun -np N tte analyze ...` gives each rank its
// queue and rank 0 gathers the results from the cache (search/mpi_ranks.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/layer_view.h"
#include "compiler/scheme.h"
#include "core/status.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "runtime/replay.h"
#include "runtime/trainer.h"

namespace tte {

struct AnalysisSettings {
  std::vector<double> ratios = {0.125, 0.25, 0.5, 1.0};  // weight ratios per layer
  int bias_step = 1;          // bias runs for k = step, 2 step, ..., n (n always included)
  int first_layer = 0;        // weight runs for layers >= first_layer only
  TrainerConfig trainer;      // epochs, lr, batch, augmentation, seed (progress and threads do not matter)
  TrainOptions options;       // compile options (num_classes, store, rounding, QAS, head init)
};

struct AnalysisRun {
  std::string kind;  // "baseline" | "bias" | "weight" | "scheme" (a searched candidate, search/verify.h)
  int n_bias = 0;    // bias: the last n_bias layers
  int layer = -1;    // weight: the layer index
  double ratio = 0;  // weight: the ratio
  std::string tag;   // scheme: a hash of what it trains (the run's name)
  Scheme scheme;     // scheme: what it trains
  static AnalysisRun Baseline() { return Make("baseline", 0, -1, 0); }
  static AnalysisRun Bias(int k) { return Make("bias", k, -1, 0); }
  static AnalysisRun Weight(int i, double r) { return Make("weight", 0, i, r); }
  static AnalysisRun OfScheme(std::string tag, Scheme s) {
    AnalysisRun a = Make("scheme", 0, -1, 0);
    a.tag = std::move(tag);
    a.scheme = std::move(s);
    return a;
  }
  std::string Id() const;        // "baseline", "bias-k12", "weight-l21-r0.25", "scheme-<tag>"
  Scheme ToScheme() const;

 private:
  static AnalysisRun Make(const char* kind, int n_bias, int layer, double ratio) {
    AnalysisRun a;
    a.kind = kind, a.n_bias = n_bias, a.layer = layer, a.ratio = ratio;
    return a;
  }
};

struct RunResult {
  AnalysisRun run;
  double top1 = 0;        // percent, on the proxy evaluation split
  double train_loss = 0;  // mean loss of the last epoch
  bool diverged = false;  // the run stopped on divergence (top1 = the baseline's chance level: 0)
  std::string error;      // the divergence message
};

// The runs of an analysis, in the fixed order ranks split by index.
std::vector<AnalysisRun> PlanAnalysisRuns(const LayerView& view, const AnalysisSettings& s);

// The identity of an analysis: what every run's cache key contains besides the run itself.
struct AnalysisIdentity {
  std::string model_path;
  uint64_t model_hash = 0;   // FNV-1a 64 of the model file's bytes (Fnv1a64, runtime/replay.h)
  std::string data;          // description of the train and proxy-eval data (specs, sample counts)
  nlohmann::json settings;   // AnalysisSettings as JSON
};
nlohmann::json SettingsJson(const AnalysisSettings& s);

class RunCache {
 public:
  explicit RunCache(std::string dir, AnalysisIdentity id) : dir_(std::move(dir)), id_(std::move(id)) {}
  std::string PathOf(const AnalysisRun& r) const;
  nlohmann::json KeyOf(const AnalysisRun& r) const;
  // The cached result, NotFound if the run has not finished (a file with another key is an error: a hash clash).
  Result<RunResult> Load(const AnalysisRun& r) const;
  Status Store(const RunResult& r, double seconds) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  AnalysisIdentity id_;
};

// One fine-tuning run: trains a fresh copy and evaluates it on `eval`.
Result<RunResult> ExecuteRun(const ir::Graph& model, const AnalysisRun& run, const AnalysisSettings& s,
                             const Dataset& train, const Dataset& eval);

// The gathered table.
struct AnalysisTable {
  double baseline = 0;
  int layers = 0;
  std::vector<std::string> layer_names;
  std::vector<RunResult> bias;     // by increasing k
  std::vector<RunResult> weights;  // by layer, then ratio
  double BiasGain(int k) const;    // interpolated down to the largest measured k' <= k (0 for k = 0)
  double WeightGain(int layer, double ratio) const;  // NaN when not measured
  std::vector<double> ratios;
};
Result<AnalysisTable> GatherAnalysis(const LayerView& view, const std::vector<AnalysisRun>& runs,
                                     const RunCache& cache);

nlohmann::json AnalysisJson(const AnalysisTable& t, const AnalysisIdentity& id);
std::string AnalysisCsv(const AnalysisTable& t);
Result<AnalysisTable> AnalysisFromJson(const nlohmann::json& j, const std::string& label);
// The paper's contribution figure: gain per layer for each weight ratio, and the bias gain per k.
std::string AnalysisSvg(const AnalysisTable& t, const std::string& title);

}  // namespace tte
