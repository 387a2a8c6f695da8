// Sparse-update schemes: which biases and which weight channels are trained.
//
// Two input forms are accepted:
//  1. The reference's own config keys (ALGORITHM.md section 5), as in ../shared/reference/schemes.json:
//       enable_backward_config (0 = full update), n_bias_update (int or "all"), manual_weight_idx (list or
//       "21-24-27"), weight_update_ratio (list or "1-1-0.125"; r <= 1 keeps floor(r*C) channels, r > 1 is a
//       count, 0 freezes the weight), n_weight_update (last n convs, full weights), weight_select_criteria
//       ("magnitude+" default, "magnitude-", "random").
//     A file may hold one scheme, or {model: {name: scheme}} like schemes.json (pick with --scheme-name).
//  2. tte's native form, which can name channels explicitly:
//       {"tte_scheme": 1, "bias": "last:22" | [20, 21, ...] | "all" | "none",
//        "weights": [{"conv": 21, "ratio": 0.5}, {"conv": 36, "channels": [3, 17, 40]}],
//        "weight_select_criteria": "magnitude+"}
//
// Resolve() turns a scheme into explicit per-conv decisions: bias trained or not, and the sorted list of
// selection channels (input channels; channels for depthwise convs) whose weights are trained. Channels
// chosen by magnitude are the top-k L2 norms of the int8 weights (ties: lower index first), computed
// once from the pretrained model, exactly the channels the compiled program then trains.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "compiler/layer_view.h"
#include "ir/graph.h"

namespace tte {

struct WeightRule {
  int conv = -1;
  double ratio = 1.0;          // used when channels is empty
  std::vector<int> channels;   // explicit selection channels (native form)
};

struct Scheme {
  std::string name = "full";
  bool full_update = false;    // enable_backward_config = 0
  int n_bias_update = 0;       // -1 = all
  std::vector<int> bias_convs; // explicit (native form); used when non-empty
  std::vector<WeightRule> weights;
  int n_weight_update = 0;     // last n convs, full weights (used when weights is empty); -1 = all
  std::string select = "magnitude+";
};

// Per-conv training decision after resolution.
struct LayerTraining {
  bool bias = false;
  std::vector<int> channels;   // sorted selection channels with trained weights (empty = weight frozen)
};

struct ResolvedScheme {
  std::string name;
  std::vector<LayerTraining> layers;  // by layer index
  int earliest() const;              // first layer index with any training, or -1
  int64_t trainable_weight_elements(const LayerView& v) const;
};

// Parses a scheme from JSON text. `label` names it in messages; scheme_name selects an entry of a
// {model: {name: scheme}} collection ("49kb", or "mcunet-5fps/49kb"); model_hint (e.g. the model file's
// stem) disambiguates which model's entry to use.
Result<Scheme> ParseScheme(const std::string& json_text, const std::string& label, const std::string& scheme_name,
                           const std::string& model_hint);
Result<Scheme> LoadScheme(const std::string& path, const std::string& scheme_name, const std::string& model_hint);
// Built-ins: "full", "bias-only" (all biases), "head-only" (no conv trained), "last:N" (last N convs, bias and
// full weights).
Result<Scheme> BuiltinScheme(const std::string& name);

// seed: for weight_select_criteria "random".
Result<ResolvedScheme> ResolveScheme(const Scheme& s, const ir::Graph& g, const LayerView& v, uint64_t seed = 0);

}  // namespace tte
