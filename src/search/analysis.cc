// Contribution analysis: the runs, their cache, one run's execution and the gathered table (analysis.h).
#include "search/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/file_io.h"

namespace tte {

namespace {
std::string RatioText(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", r);
  return buf;
}
}  // namespace

std::string AnalysisRun::Id() const {
  if (kind == "bias") return "bias-k" + std::to_string(n_bias);
  if (kind == "weight") return "weight-l" + std::to_string(layer) + "-r" + RatioText(ratio);
  if (kind == "scheme") return "scheme-" + tag;
  return "baseline";
}

Scheme AnalysisRun::ToScheme() const {
  if (kind == "scheme") return scheme;
  Scheme s;
  s.name = "analysis/" + Id();
  if (kind == "bias") s.n_bias_update = n_bias;
  if (kind == "weight") {
    s.bias_convs = {layer};  // the layer's own bias trains with its weights (the native form allows weights only with it)
    s.weights.push_back(WeightRule{layer, ratio, {}});
  }
  return s;
}

std::vector<AnalysisRun> PlanAnalysisRuns(const LayerView& view, const AnalysisSettings& s) {
  const int n = static_cast<int>(view.layers.size());
  std::vector<AnalysisRun> runs;
  runs.push_back(AnalysisRun::Baseline());
  const int step = std::max(1, s.bias_step);
  for (int k = step; k < n + step; k += step) runs.push_back(AnalysisRun::Bias(std::min(k, n)));
  if (runs.back().kind == "bias" && runs.size() >= 2 && runs[runs.size() - 2].kind == "bias" &&
      runs[runs.size() - 2].n_bias == runs.back().n_bias)
    runs.pop_back();
  for (int i = std::max(0, s.first_layer); i < n; ++i) {
    const Layer& l = view.layers[static_cast<size_t>(i)];
    for (double r : s.ratios) {
      if (l.groups > 1 && !l.depthwise && r != 1.0) continue;  // grouped convs train whole weights only
      if (static_cast<int>(std::floor(l.selection_count() * r + 1e-9)) <= 0) continue;
      runs.push_back(AnalysisRun::Weight(i, r));
    }
  }
  return runs;
}

nlohmann::json SettingsJson(const AnalysisSettings& s) {
  const TrainerConfig& c = s.trainer;
  const TrainOptions& o = s.options;
  return {{"ratios", s.ratios},
          {"bias_step", s.bias_step},
          {"first_layer", s.first_layer},
          {"epochs", c.epochs},
          {"max_updates", c.max_updates},
          {"batch", c.batch},
          {"lr", c.lr},
          {"warmup_epochs", c.warmup_epochs},
          {"augment", c.augment},
          {"seed", c.seed},
          {"num_classes", o.num_classes},
          {"qas", o.qas},
          {"momentum", o.momentum},
          {"store", static_cast<int>(o.store)},
          {"rounding", o.rounding},
          {"head_from_model", !o.head_weight.empty()}};
}

nlohmann::json RunCache::KeyOf(const AnalysisRun& r) const {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(id_.model_hash));
  return {{"tte_analysis_run", 1}, {"model_fnv1a64", hash}, {"data", id_.data}, {"settings", id_.settings},
          {"run", r.Id()}};
}

std::string RunCache::PathOf(const AnalysisRun& r) const {
  const std::string key = KeyOf(r).dump();
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(Fnv1a64(key.data(), key.size())));
  return dir_ + "/runs/" + r.Id() + "-" + hash + ".json";
}

Result<RunResult> RunCache::Load(const AnalysisRun& r) const {
  const std::string path = PathOf(r);
  if (!FileExists(path)) return NotFound(path + ": run " + r.Id() + " has not finished");
  TTE_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j.contains("top1"))
    return DataLoss(path + ": not a tte analysis run result (delete it to run " + r.Id() + " again)");
  if (j["key"] != KeyOf(r))
    return DataLoss(path + ": holds another run's result (field 'key' differs; delete the file)");
  RunResult out;
  out.run = r;
  if (!j["top1"].is_number() || !j.value("train_loss", nlohmann::json(0)).is_number())
    return DataLoss(path + ": field 'top1' or 'train_loss' is not a number");
  out.top1 = j["top1"].get<double>();
  out.train_loss = j.value("train_loss", 0.0);
  out.diverged = j.value("diverged", false);
  out.error = j.value("error", std::string());
  return out;
}

Status RunCache::Store(const RunResult& r, double seconds) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_ + "/runs", ec);
  if (ec) return InvalidArgument(dir_ + "/runs: cannot create the run cache: " + ec.message());
  nlohmann::json j = {{"key", KeyOf(r.run)}, {"top1", r.top1},       {"train_loss", r.train_loss},
                      {"diverged", r.diverged}, {"error", r.error}, {"seconds", seconds}};
  return WriteFileAtomic(PathOf(r.run), j.dump(1) + "\n");
}

Result<RunResult> ExecuteRun(const ir::Graph& model, const AnalysisRun& run, const AnalysisSettings& s,
                             const Dataset& train, const Dataset& eval) {
  TrainerConfig cfg = s.trainer;
  cfg.progress = false;
  cfg.eval_every = std::max(1, cfg.epochs);  // only the last epoch is evaluated
  TTE_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(model, run.ToScheme(), s.options, cfg));
  RunResult out;
  out.run = run;
  Status st = trainer->Train(train, &eval, [&](const EpochMetrics& e) {
    out.train_loss = e.train_loss;
    if (e.eval_acc >= 0) out.top1 = e.eval_acc;
  });
  if (!st.ok()) {
    if (!trainer->diverged()) return st.WithContext("analysis run " + run.Id());
    out.diverged = true;
    out.top1 = 0;
    out.error = st.message();
  }
  return out;
}

double AnalysisTable::BiasGain(int k) const {
  double g = 0;
  for (const RunResult& r : bias)
    if (r.run.n_bias <= k) g = r.top1 - baseline;
  return k <= 0 ? 0 : g;
}

double AnalysisTable::WeightGain(int layer, double ratio) const {
  for (const RunResult& r : weights)
    if (r.run.layer == layer && r.run.ratio == ratio) return r.top1 - baseline;
  return std::numeric_limits<double>::quiet_NaN();
}

Result<AnalysisTable> GatherAnalysis(const LayerView& view, const std::vector<AnalysisRun>& runs,
                                     const RunCache& cache) {
  AnalysisTable t;
  t.layers = static_cast<int>(view.layers.size());
  for (const Layer& l : view.layers) t.layer_names.push_back(l.name);
  std::vector<std::string> missing;
  for (const AnalysisRun& run : runs) {
    auto r = cache.Load(run);
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kNotFound) return r.status();
      missing.push_back(run.Id());
      continue;
    }
    if (run.kind == "baseline") t.baseline = r->top1;
    if (run.kind == "bias") t.bias.push_back(*r);
    if (run.kind == "weight") {
      t.weights.push_back(*r);
      if (std::find(t.ratios.begin(), t.ratios.end(), run.ratio) == t.ratios.end()) t.ratios.push_back(run.ratio);
    }
  }
  std::sort(t.ratios.begin(), t.ratios.end());
  if (!missing.empty())
    return NotFound(cache.dir() + ": " + std::to_string(missing.size()) + " of " + std::to_string(runs.size()) +
                    " runs have no result (first: " + missing.front() + "); run the analysis again to finish them");
  return t;
}

nlohmann::json AnalysisJson(const AnalysisTable& t, const AnalysisIdentity& id) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(id.model_hash));
  nlohmann::json j = {{"tte_analysis", 1},   {"model", id.model_path}, {"model_fnv1a64", hash},
                      {"data", id.data},     {"settings", id.settings}, {"layers", t.layers},
                      {"layer_names", t.layer_names}, {"baseline_top1", t.baseline}, {"ratios", t.ratios}};
  nlohmann::json bias = nlohmann::json::array(), weights = nlohmann::json::array();
  for (const RunResult& r : t.bias)
    bias.push_back({{"n_bias", r.run.n_bias}, {"top1", r.top1}, {"gain", r.top1 - t.baseline}, {"diverged", r.diverged}});
  for (const RunResult& r : t.weights)
    weights.push_back({{"layer", r.run.layer}, {"ratio", r.run.ratio}, {"top1", r.top1}, {"gain", r.top1 - t.baseline},
                       {"diverged", r.diverged}});
  j["bias"] = bias;
  j["weights"] = weights;
  return j;
}

std::string AnalysisCsv(const AnalysisTable& t) {
  std::ostringstream o;
  o << "kind,n_bias,layer,name,ratio,top1,gain,diverged\n";
  char buf[64];
  auto num = [&](double v) {
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return std::string(buf);
  };
  o << "baseline,0,,,," << num(t.baseline) << ",0,0\n";
  for (const RunResult& r : t.bias)
    o << "bias," << r.run.n_bias << ",,,," << num(r.top1) << "," << num(r.top1 - t.baseline) << "," << r.diverged << "\n";
  for (const RunResult& r : t.weights)
    o << "weight,0," << r.run.layer << "," << t.layer_names[static_cast<size_t>(r.run.layer)] << "," << r.run.ratio
      << "," << num(r.top1) << "," << num(r.top1 - t.baseline) << "," << r.diverged << "\n";
  return o.str();
}

Result<AnalysisTable> AnalysisFromJson(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object() || j.value("tte_analysis", 0) != 1)
    return InvalidArgument(label + ": not a tte analysis (field 'tte_analysis' != 1; made by tte analyze)");
  try {
    AnalysisTable t;
    t.layers = j.at("layers").get<int>();
    t.layer_names = j.at("layer_names").get<std::vector<std::string>>();
    t.baseline = j.at("baseline_top1").get<double>();
    t.ratios = j.at("ratios").get<std::vector<double>>();
    for (const auto& b : j.at("bias")) {
      RunResult r;
      r.run = AnalysisRun::Bias(b.at("n_bias").get<int>());
      r.top1 = b.at("top1").get<double>();
      r.diverged = b.value("diverged", false);
      t.bias.push_back(r);
    }
    for (const auto& w : j.at("weights")) {
      RunResult r;
      r.run = AnalysisRun::Weight(w.at("layer").get<int>(), w.at("ratio").get<double>());
      if (r.run.layer < 0 || r.run.layer >= t.layers)
        return InvalidArgument(label + ": field 'weights' names layer " + std::to_string(r.run.layer) + " outside 0.." +
                               std::to_string(t.layers - 1));
      r.top1 = w.at("top1").get<double>();
      r.diverged = w.value("diverged", false);
      t.weights.push_back(r);
    }
    return t;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(label + ": malformed analysis: " + e.what());
  }
}

}  // namespace tte
