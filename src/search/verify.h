// Measured, not predicted: `tte search --verify`. The summed single-layer gains of the analysis (scheme_search.h)
// reward touching many layers a little, and a short proxy run is noisy, so the scheme with the best *predicted*
// gain is often not the best one (docs/search.md, "What the benchmark says"). Verification searches one candidate
// per limit on the number of weight-trained layers (0, 1, 2, 3, 4, 6, 8, no limit by default), so the candidates
// range from "biases only" to "many layers a little", all fitting the budget in the real planner; then fine-tunes
// each on the analysis's own proxy split with the analysis's own settings (the runs are the analysis's kind of
// run, cached in its runs/ directory under the same content hash, so a repeated or interrupted search repeats
// nothing), and keeps the candidate with the best measured top-1 (ties: less SRAM).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/layer_view.h"
#include "compiler/train_compiler.h"
#include "core/status.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "search/analysis.h"
#include "search/scheme_search.h"

namespace tte {

// What an analysis trained and evaluated on, and with which settings, read back from its analysis.json.
struct ProxySetup {
  AnalysisSettings settings;
  AnalysisIdentity identity;
  DatasetSpec train, eval;
};

// `options` are the search's compile options: they must be the ones the analysis recorded (num_classes, QAS,
// momentum, store, rounding, head), else the measured runs would not be the analysis's kind of run; a mismatch is
// an error naming the field. `threads` are the evaluation threads of each run (they do not change results).
Result<ProxySetup> ProxySetupFromAnalysis(const nlohmann::json& analysis, const std::string& label,
                                          const std::string& model_path, uint64_t model_hash,
                                          const TrainOptions& options, int threads);

struct VerifiedCandidate {
  int max_weight_layers = -1;  // the limit it was searched under (-1: none)
  SchemeChoice choice;
  RunResult measured;          // top-1 on the proxy split (diverged runs count as 0)
  bool cached = false;
};

struct VerifyResult {
  SearchResult search;                       // of the winner (found = false: nothing fits)
  std::vector<VerifiedCandidate> candidates; // distinct schemes, in the order of the limits
  size_t best = 0;                           // index of the winner in candidates
};

// Searches one candidate per limit in `limits` for `budget` with `searcher`, measures each distinct one on the
// proxy split (`model` is what the searcher searches; progress lines go to `log`), returns them with the winner.
Result<VerifyResult> SearchAndVerify(SchemeSearcher& searcher, int64_t budget, const std::vector<int>& limits,
                                     const ir::Graph& model, const AnalysisTable& table, const ProxySetup& proxy,
                                     const std::string& cache_dir, const std::function<void(const std::string&)>& log);

// The candidates as JSON for the search report.
nlohmann::json VerifiedJson(const VerifyResult& r, const AnalysisTable& table);

}  // namespace tte
