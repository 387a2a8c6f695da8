// `tte search --verify`: candidates under limits on the number of weight-trained layers, each measured by a
// proxy fine-tuning run of the analysis's kind (verify.h).
#include "search/verify.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "runtime/replay.h"

namespace tte {

namespace {

Result<DatasetSpec> SpecFromJson(const nlohmann::json& j, const std::string& label) {
  try {
    DatasetSpec s;
    s.kind = j.at("kind").get<std::string>();
    s.path = j.at("path").get<std::string>();
    s.raw = j.at("raw").get<std::string>();
    s.labels_path = j.at("labels").get<std::string>();
    s.split = j.at("split").get<std::string>();
    s.classes = j.at("classes").get<std::string>();
    s.skip = j.at("skip").get<int64_t>();
    s.max_samples = j.at("max").get<int64_t>();
    s.eval_transform = j.at("eval_transform").get<std::string>();
    s.presize = j.at("presize").get<int>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(label + ": field 'data' does not describe a dataset: " + e.what());
  }
}

}  // namespace

Result<ProxySetup> ProxySetupFromAnalysis(const nlohmann::json& analysis, const std::string& label,
                                          const std::string& model_path, uint64_t model_hash,
                                          const TrainOptions& options, int threads) {
  ProxySetup p;
  if (!analysis.contains("data") || !analysis["data"].is_string() || !analysis.contains("settings"))
    return InvalidArgument(label + ": fields 'data' and 'settings' are missing (made by an older tte analyze?)");
  // "train {spec} eval {spec}", as tte analyze writes it
  std::istringstream in(analysis["data"].get<std::string>());
  std::string w1, w2;
  nlohmann::json train, eval;
  try {
    in >> w1 >> train >> w2 >> eval;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(label + ": field 'data' is not 'train {...} eval {...}': " + e.what());
  }
  if (w1 != "train" || w2 != "eval") return InvalidArgument(label + ": field 'data' is not 'train {...} eval {...}'");
  TTE_ASSIGN_OR_RETURN(p.train, SpecFromJson(train, label));
  TTE_ASSIGN_OR_RETURN(p.eval, SpecFromJson(eval, label));
  const nlohmann::json& js = analysis["settings"];
  try {
    AnalysisSettings& s = p.settings;
    s.ratios = js.at("ratios").get<std::vector<double>>();
    s.bias_step = js.at("bias_step").get<int>();
    s.first_layer = js.at("first_layer").get<int>();
    s.trainer.epochs = js.at("epochs").get<int>();
    s.trainer.max_updates = js.at("max_updates").get<int64_t>();
    s.trainer.batch = js.at("batch").get<int>();
    s.trainer.lr = js.at("lr").get<float>();
    s.trainer.warmup_epochs = js.at("warmup_epochs").get<float>();
    s.trainer.augment = js.at("augment").get<bool>();
    s.trainer.seed = js.at("seed").get<uint64_t>();
    s.trainer.threads = threads;
    s.options = options;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(label + ": field 'settings' is malformed: " + e.what());
  }
  const nlohmann::json mine = SettingsJson(p.settings);
  for (const auto& [key, value] : js.items())
    if (!mine.contains(key) || mine[key] != value)
      return InvalidArgument(label + ": the analysis ran with settings." + key + " = " + value.dump() +
                             ", this search's options give " + (mine.contains(key) ? mine[key].dump() : "nothing") +
                             ": give tte search the compile options given to tte analyze (--classes, --store, "
                             "--rounding, --no-qas, --momentum, --new-head)");
  p.identity.model_path = model_path;
  p.identity.model_hash = model_hash;
  p.identity.data = analysis["data"].get<std::string>();
  p.identity.settings = js;
  return p;
}

Result<VerifyResult> SearchAndVerify(SchemeSearcher& searcher, int64_t budget, const std::vector<int>& limits,
                                     const ir::Graph& g, const AnalysisTable& table, const ProxySetup& proxy,
                                     const std::string& cache_dir, const std::function<void(const std::string&)>& log) {
  VerifyResult out;
  if (limits.empty()) return InvalidArgument("verification needs at least one limit on weight-trained layers");
  std::vector<SearchResult> searches;
  char line[512];
  int64_t planned = 0;
  for (int limit : limits) {
    TTE_ASSIGN_OR_RETURN(SearchResult r, searcher.Search(budget, limit));
    planned += r.planned;
    out.search.head_only_sram = r.head_only_sram;
    if (!r.found) return out;  // not even the head-only program fits
    bool seen = false;
    for (const VerifiedCandidate& c : out.candidates) seen = seen || c.choice.Key() == r.best.Key();
    if (seen) continue;
    VerifiedCandidate c;
    c.max_weight_layers = limit;
    c.choice = r.best;
    out.candidates.push_back(c);
    searches.push_back(r);
  }
  const RunCache cache(cache_dir, proxy.identity);
  auto train = OpenDataset(proxy.train);
  if (!train.ok()) return train.status().WithContext("the analysis's training data");
  auto eval = OpenDataset(proxy.eval);
  if (!eval.ok()) return eval.status().WithContext("the analysis's proxy evaluation data");
  for (size_t j = 0; j < out.candidates.size(); ++j) {
    VerifiedCandidate& c = out.candidates[j];
    const std::string key = c.choice.Key();
    char tag[17];
    std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(Fnv1a64(key.data(), key.size())));
    const AnalysisRun run = AnalysisRun::OfScheme(tag, c.choice.ToScheme("verify/" + key));
    auto hit = cache.Load(run);
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) return hit.status();
    const auto t0 = std::chrono::steady_clock::now();
    if (hit.ok()) {
      c.measured = *hit;
      c.cached = true;
    } else {
      TTE_ASSIGN_OR_RETURN(c.measured, ExecuteRun(g, run, proxy.settings, **train, **eval));
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      TTE_RETURN_IF_ERROR(cache.Store(c.measured, secs));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::snprintf(line, sizeof line,
                  "  candidate %zu/%zu (at most %s weight layers): predicted %+.2f, measured %.2f%% (%+.2f)%s, "
                  "%lld B, %s",
                  j + 1, out.candidates.size(),
                  c.max_weight_layers < 0 ? "any" : std::to_string(c.max_weight_layers).c_str(),
                  c.choice.predicted_gain, c.measured.top1, c.measured.top1 - table.baseline,
                  c.measured.diverged ? " (diverged)" : "", static_cast<long long>(c.choice.peak_sram),
                  c.cached ? "cached" : (std::to_string(static_cast<int>(secs + 0.5)) + " s").c_str());
    log(line);
  }
  for (size_t j = 1; j < out.candidates.size(); ++j) {
    const VerifiedCandidate& a = out.candidates[j];
    const VerifiedCandidate& b = out.candidates[out.best];
    if (a.measured.top1 > b.measured.top1 ||
        (a.measured.top1 == b.measured.top1 && a.choice.peak_sram < b.choice.peak_sram))
      out.best = j;
  }
  out.search = searches[out.best];
  out.search.planned = planned;
  return out;
}

nlohmann::json VerifiedJson(const VerifyResult& r, const AnalysisTable& table) {
  nlohmann::json a = nlohmann::json::array();
  for (size_t j = 0; j < r.candidates.size(); ++j) {
    const VerifiedCandidate& c = r.candidates[j];
    a.push_back({{"max_weight_layers", c.max_weight_layers},
                 {"scheme", c.choice.NativeJson()},
                 {"predicted_gain", c.choice.predicted_gain},
                 {"measured_top1", c.measured.top1},
                 {"measured_gain", c.measured.top1 - table.baseline},
                 {"diverged", c.measured.diverged},
                 {"planned_peak_sram_bytes", c.choice.peak_sram},
                 {"chosen", j == r.best}});
  }
  return a;
}

}  // namespace tte
