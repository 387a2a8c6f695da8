// Scheme search (`tte search`): from a contribution analysis, the sparse-update scheme with the largest summed
// accuracy gain whose PLANNED peak SRAM fits a budget.
//
// A candidate trains the biases of the last k layers and, in that range, the weights of some layers at one of the
// analysed ratios. Its predicted gain is the paper's sum: gain_bias[k] + sum over weight-trained layers of
// gain_weight[i, r_i] (analysis.h). Its memory is not estimated: the candidate is compiled and planned by the
// same CompileForDevice that `tte plan` and `tte codegen` use (reordering, in-place, patches) and its peak SRAM
// (arena + trainable state + reserve, AccountMemory) must be <= the budget.
//
// The search is evolutionary and seeded (SplitMix64): a population seeded with head-only, bias-only chains and
// random sparse candidates; tournament selection (feasible first, then gain, then less SRAM), uniform crossover,
// mutation of k and of single layers' ratios, elitism. During the search every candidate is planned with one
// patch grid (the one CompileForDevice picks for the head-only program) and a shorter local search of the arena
// planner (plan_iterations; the local search keeps its best, so stopping it early never gives a smaller arena); the
// winner is then planned in full with every grid (as `tte plan` does), which can only lower its SRAM, and that is
// what is reported. Planning runs on
// `threads` threads; results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/layer_view.h"
#include "compiler/scheme.h"
#include "compiler/train_compiler.h"
#include "core/status.h"
#include "ir/graph.h"
#include "search/analysis.h"

namespace tte {

struct SearchSettings {
  int64_t budget = 0;                 // bytes of peak SRAM
  int64_t reserve = 8192;             // stack/runtime reserve counted in SRAM (as tte plan --reserve)
  int population = 32;
  int generations = 30;
  uint64_t seed = 0;
  int threads = 2;
  bool progress = true;
  int plan_iterations = 400;          // arena planner's local-search iterations for candidates during the search
                                      // (the winner is planned in full: its SRAM can only go down)
  int max_weight_layers = -1;         // at most this many layers train weights (-1: no limit); the layers with
                                      // the least measured gain are dropped first
};

struct SchemeChoice {
  int n_bias = 0;                     // biases of the last n_bias layers
  std::vector<std::pair<int, double>> weights;  // (layer, ratio), layers in increasing order
  double predicted_gain = 0;          // points over the head only, from the analysis
  int64_t peak_sram = 0;              // planned peak SRAM (bytes, every patch grid tried)
  int64_t arena = 0, state = 0;       // of that plan
  int patch_grid = 0;
  Scheme ToScheme(const std::string& name) const;
  std::string Key() const;            // identity of what is trained (same key = same scheme)
  nlohmann::json NativeJson() const;  // tte's native scheme form (docs/schemes.md)
};

struct SearchResult {
  bool found = false;                 // false: not even the head-only program fits
  SchemeChoice best;
  int64_t head_only_sram = 0;         // the smallest program's planned peak (the floor of any budget)
  int64_t planned = 0;                // candidates planned
  int generations = 0;
};

Result<SearchResult> SearchScheme(const ir::Graph& g, const LayerView& view, const AnalysisTable& table,
                                  const TrainOptions& options, const SearchSettings& s);

// Many searches of one model and analysis (budgets of a sweep, limits of --verify) sharing one memo of planned
// SRAM, so a candidate is planned once. Search(b, m) gives what SearchScheme gives with budget b and
// max_weight_layers m (and the other settings given here). The graph, table and options must outlive it.
class SchemeSearcher {
 public:
  static Result<std::unique_ptr<SchemeSearcher>> Create(const ir::Graph& g, const LayerView& view,
                                                        const AnalysisTable& table, const TrainOptions& options,
                                                        const SearchSettings& s);
  ~SchemeSearcher();
  Result<SearchResult> Search(int64_t budget, int max_weight_layers);

 private:
  SchemeSearcher() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The report of a search as JSON (budget, predicted gain, planned SRAM, what is trained).
nlohmann::json SearchReportJson(const SearchResult& r, const SearchSettings& s, const LayerView& view,
                                const AnalysisTable& table);

}  // namespace tte
