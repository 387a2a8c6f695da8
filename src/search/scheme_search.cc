// Evolutionary scheme search under a planned-SRAM budget (scheme_search.h).
#include "search/scheme_search.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "core/splitmix.h"
#include "memory/device_compile.h"
#include "memory/sram.h"

namespace tte {

namespace {

// A candidate: n_bias and a level per layer (0 = frozen weights, j > 0 = ratios[j - 1]).
struct Genome {
  int k = 0;
  std::vector<int> level;
  std::string Key() const {
    std::string s = std::to_string(k) + ":";
    for (size_t i = 0; i < level.size(); ++i)
      if (level[i]) s += std::to_string(i) + "=" + std::to_string(level[i]) + ",";
    return s;
  }
};

struct Scored {
  Genome g;
  double gain = 0;
  int64_t sram = 0;
  bool fits = false;
};

bool Better(const Scored& a, const Scored& b) {
  if (a.fits != b.fits) return a.fits;
  if (!a.fits) return a.sram < b.sram;
  if (a.gain != b.gain) return a.gain > b.gain;
  return a.sram < b.sram;
}

class Searcher {
 public:
  Searcher(const ir::Graph& g, int layers, const AnalysisTable& t, const TrainOptions& o, const SearchSettings& s)
      : graph_(g), table_(t), options_(o), s_(s), n_(layers), rng_{s.seed * 2 + 1} {
    // measured levels per layer
    allowed_.assign(n_, {});
    for (int i = 0; i < n_; ++i)
      for (size_t j = 0; j < t.ratios.size(); ++j)
        if (!std::isnan(t.WeightGain(i, t.ratios[j]))) allowed_[i].push_back(static_cast<int>(j) + 1);
  }

  SchemeChoice Choice(const Genome& g) const {
    SchemeChoice c;
    c.n_bias = g.k;
    c.predicted_gain = table_.BiasGain(g.k);
    for (int i = 0; i < n_; ++i)
      if (g.level[i]) {
        const double r = table_.ratios[static_cast<size_t>(g.level[i] - 1)];
        c.weights.emplace_back(i, r);
        c.predicted_gain += table_.WeightGain(i, r);
      }
    return c;
  }

  // Planned peak SRAM of a candidate with the search's patch grid (memoised).
  Result<int64_t> Sram(const Genome& g, int grid, int64_t* arena = nullptr, int64_t* state = nullptr,
                       int* chosen_grid = nullptr) {
    const std::string key = g.Key();
    if (grid != -1) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = memo_.find(key);
      if (it != memo_.end()) return it->second;
    }
    const Scheme scheme = Choice(g).ToScheme("search");
    PlannerOptions planner;  // during the search: a shorter local search, whose arena is never smaller
    if (grid != -1) planner.max_search_iterations = s_.plan_iterations;
    Result<DeviceCompileResult> compiled = CompileForDevice(graph_, scheme, options_, grid, planner);
    if (!compiled.ok() && grid > 0)
      compiled = CompileForDevice(graph_, scheme, options_, -1, planner);  // no frozen prefix to patch
    TTE_ASSIGN_OR_RETURN(DeviceCompileResult dev, std::move(compiled));
    AccountingOptions ao;
    ao.reserve_bytes = s_.reserve;
    const MemoryReport r = AccountMemory(dev.compiled.program, dev.plan, ao);
    if (arena) *arena = r.arena_bytes;
    if (state) *state = dev.state_bytes;
    if (chosen_grid) *chosen_grid = dev.compiled.patch.grid;
    std::lock_guard<std::mutex> lock(mu_);
    ++planned_;
    if (grid != -1) memo_[key] = r.peak_sram_bytes;
    return r.peak_sram_bytes;
  }

  void Repair(Genome* g) const {
    g->k = std::clamp(g->k, 0, n_);
    g->level.resize(n_, 0);
    std::vector<std::pair<double, int>> trained;  // (gain, layer) of the weight-trained layers
    for (int i = 0; i < n_; ++i) {
      if (i < n_ - g->k) g->level[i] = 0;
      if (g->level[i] && std::find(allowed_[i].begin(), allowed_[i].end(), g->level[i]) == allowed_[i].end())
        g->level[i] = 0;
      if (g->level[i]) trained.emplace_back(table_.WeightGain(i, table_.ratios[static_cast<size_t>(g->level[i] - 1)]), i);
    }
    if (s_.max_weight_layers < 0 || static_cast<int>(trained.size()) <= s_.max_weight_layers) return;
    std::sort(trained.begin(), trained.end());  // least gain first (ties: lower layer first)
    for (size_t j = 0; j + static_cast<size_t>(s_.max_weight_layers) < trained.size(); ++j) g->level[trained[j].second] = 0;
  }

  Genome Random() {
    Genome g;
    g.k = static_cast<int>(rng_.Below(n_ + 1));
    g.level.assign(n_, 0);
    for (int i = n_ - g.k; i < n_; ++i)
      if (!allowed_[i].empty() && rng_.Below(100) < 15) g.level[i] = allowed_[i][rng_.Below(allowed_[i].size())];
    Repair(&g);
    return g;
  }

  void Mutate(Genome* g) {
    if (rng_.Below(100) < 40) g->k += static_cast<int>(rng_.Below(7)) - 3;
    Repair(g);
    const int span = std::max(1, g->k);
    for (int i = n_ - g->k; i < n_; ++i)
      if (rng_.Below(static_cast<size_t>(span)) < 2) {
        const auto& a = allowed_[i];
        const size_t pick = rng_.Below(a.size() + 1);
        g->level[i] = pick == a.size() ? 0 : a[pick];
      }
    Repair(g);
  }

  Genome Cross(const Genome& a, const Genome& b) {
    Genome c;
    c.k = rng_.Below(2) ? a.k : b.k;
    c.level.resize(n_);
    for (int i = 0; i < n_; ++i) c.level[i] = rng_.Below(2) ? a.level[i] : b.level[i];
    Repair(&c);
    return c;
  }

  Status Score(std::vector<Scored>* pop, int grid) {
    std::vector<Status> errors(pop->size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t j; (j = next.fetch_add(1)) < pop->size();) {
        Scored& c = (*pop)[j];
        c.gain = Choice(c.g).predicted_gain;
        auto sram = Sram(c.g, grid);
        if (!sram.ok()) {
          errors[j] = sram.status();
          continue;
        }
        c.sram = *sram;
        c.fits = c.sram <= s_.budget;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::max(1, s_.threads); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    for (const Status& st : errors)
      if (!st.ok()) return st;
    return Status::Ok();
  }

  // One search for `budget` under `max_weight_layers`; the memo of planned SRAM carries over between calls (a
  // candidate's SRAM does not depend on the budget), the random stream restarts from the seed: a call gives the
  // same result whatever ran before it.
  Result<SearchResult> Run(int64_t budget, int max_weight_layers) {
    s_.budget = budget;
    s_.max_weight_layers = max_weight_layers;
    rng_ = SplitMix64{s_.seed * 2 + 1};
    const int64_t planned_before = planned_;
    SearchResult out;
    Genome head;
    head.level.assign(n_, 0);
    int grid = 0;
    TTE_ASSIGN_OR_RETURN(out.head_only_sram, Sram(head, -1, nullptr, nullptr, &grid));
    if (out.head_only_sram > s_.budget) return out;
    // the initial population: head only, bias chains, random sparse candidates
    std::vector<Scored> pop;
    pop.push_back({head});
    for (int q = 1; q <= 4; ++q) {
      Genome b = head;
      b.k = n_ * q / 4;
      pop.push_back({b});
    }
    while (static_cast<int>(pop.size()) < s_.population) pop.push_back({Random()});
    TTE_RETURN_IF_ERROR(Score(&pop, grid));
    std::sort(pop.begin(), pop.end(), Better);
    const int elite = std::max(1, s_.population / 8);
    for (int gen = 0; gen < s_.generations; ++gen) {
      std::vector<Scored> next(pop.begin(), pop.begin() + std::min<size_t>(elite, pop.size()));
      auto pick = [&]() -> const Scored& {
        const Scored& a = pop[rng_.Below(pop.size())];
        const Scored& b = pop[rng_.Below(pop.size())];
        return Better(a, b) ? a : b;
      };
      while (static_cast<int>(next.size()) < s_.population) {
        Genome child = rng_.Below(100) < 50 ? Cross(pick().g, pick().g) : pick().g;
        Mutate(&child);
        next.push_back({child});
      }
      TTE_RETURN_IF_ERROR(Score(&next, grid));
      std::stable_sort(next.begin(), next.end(), Better);
      pop = std::move(next);
      out.generations = gen + 1;
      if (s_.progress) {
        std::fprintf(stderr, "\rtte search: generation %d/%d, best %+.2f points at %lld B, %lld planned   ", gen + 1,
                     s_.generations, pop[0].fits ? pop[0].gain : 0.0, static_cast<long long>(pop[0].sram),
                     static_cast<long long>(planned_));
        std::fflush(stderr);
      }
    }
    if (s_.progress) std::fprintf(stderr, "\n");
    const Scored& best = pop[0];
    if (!best.fits) return out;  // cannot happen: head only fits
    out.found = true;
    out.best = Choice(best.g);
    TTE_ASSIGN_OR_RETURN(out.best.peak_sram, Sram(best.g, -1, &out.best.arena, &out.best.state, &out.best.patch_grid));
    out.planned = planned_ - planned_before;
    return out;
  }

 private:
  const ir::Graph& graph_;
  const AnalysisTable& table_;
  TrainOptions options_;
  SearchSettings s_;
  int n_;
  SplitMix64 rng_;
  std::vector<std::vector<int>> allowed_;
  std::map<std::string, int64_t> memo_;
  std::mutex mu_;
  int64_t planned_ = 0;
};

}  // namespace

Scheme SchemeChoice::ToScheme(const std::string& name) const {
  Scheme s;
  s.name = name;
  s.n_bias_update = n_bias;
  for (const auto& [layer, ratio] : weights) s.weights.push_back(WeightRule{layer, ratio, {}});
  return s;
}

std::string SchemeChoice::Key() const {
  std::string s = std::to_string(n_bias) + ":";
  for (const auto& [layer, ratio] : weights) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%d@%g,", layer, ratio);
    s += buf;
  }
  return s;
}

nlohmann::json SchemeChoice::NativeJson() const {
  nlohmann::json w = nlohmann::json::array();
  for (const auto& [layer, ratio] : weights) w.push_back({{"conv", layer}, {"ratio", ratio}});
  return {{"tte_scheme", 1},
          {"bias", n_bias > 0 ? "last:" + std::to_string(n_bias) : std::string("none")},
          {"weights", w},
          {"weight_select_criteria", "magnitude+"}};
}

struct SchemeSearcher::Impl {
  Impl(const ir::Graph& g, int layers, const AnalysisTable& t, const TrainOptions& o, const SearchSettings& s)
      : searcher(g, layers, t, o, s) {}
  Searcher searcher;
};

Result<std::unique_ptr<SchemeSearcher>> SchemeSearcher::Create(const ir::Graph& g, const LayerView& view,
                                                               const AnalysisTable& table, const TrainOptions& options,
                                                               const SearchSettings& s) {
  if (table.layers != static_cast<int>(view.layers.size()))
    return InvalidArgument("the analysis has " + std::to_string(table.layers) + " layers, the model " +
                           std::to_string(view.layers.size()) + ": it was made for another model");
  if (s.population < 2 || s.generations < 0) return InvalidArgument("--population must be >= 2 and --generations >= 0");
  std::unique_ptr<SchemeSearcher> out(new SchemeSearcher);
  out->impl_ = std::make_unique<Impl>(g, static_cast<int>(view.layers.size()), table, options, s);
  return out;
}

SchemeSearcher::~SchemeSearcher() = default;

Result<SearchResult> SchemeSearcher::Search(int64_t budget, int max_weight_layers) {
  return impl_->searcher.Run(budget, max_weight_layers);
}

Result<SearchResult> SearchScheme(const ir::Graph& g, const LayerView& view, const AnalysisTable& table,
                                  const TrainOptions& options, const SearchSettings& s) {
  TTE_ASSIGN_OR_RETURN(std::unique_ptr<SchemeSearcher> searcher, SchemeSearcher::Create(g, view, table, options, s));
  return searcher->Search(s.budget, s.max_weight_layers);
}

nlohmann::json SearchReportJson(const SearchResult& r, const SearchSettings& s, const LayerView& view,
                                const AnalysisTable& table) {
  nlohmann::json j = {{"budget_bytes", s.budget},      {"reserve_bytes", s.reserve},
                      {"found", r.found},              {"head_only_sram_bytes", r.head_only_sram},
                      {"candidates_planned", r.planned}, {"generations", r.generations},
                      {"seed", s.seed},                {"baseline_top1", table.baseline}};
  if (!r.found) return j;
  nlohmann::json trained = nlohmann::json::array();
  for (const auto& [layer, ratio] : r.best.weights)
    trained.push_back({{"layer", layer}, {"name", view.layers[static_cast<size_t>(layer)].name}, {"ratio", ratio},
                       {"gain", table.WeightGain(layer, ratio)}});
  j["scheme"] = r.best.NativeJson();
  j["predicted_gain"] = r.best.predicted_gain;
  j["predicted_top1"] = table.baseline + r.best.predicted_gain;
  j["bias_layers"] = r.best.n_bias;
  j["bias_gain"] = table.BiasGain(r.best.n_bias);
  j["weights"] = trained;
  j["planned_peak_sram_bytes"] = r.best.peak_sram;
  j["arena_bytes"] = r.best.arena;
  j["state_bytes"] = r.best.state;
  j["patch_grid"] = r.best.patch_grid;
  if (s.max_weight_layers >= 0) j["max_weight_layers"] = s.max_weight_layers;
  return j;
}

}  // namespace tte
