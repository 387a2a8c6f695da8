// Sparse-update scheme parsing and resolution (see scheme.h).
#include "compiler/scheme.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "core/file_io.h"

namespace tte {
namespace {

using json = nlohmann::json;

bool IsSchemeObject(const json& j) {
  static const char* kKeys[] = {"n_bias_update", "manual_weight_idx", "weight_update_ratio", "n_weight_update",
                                "enable_backward_config", "tte_scheme", "weights", "bias"};
  if (!j.is_object()) return false;
  for (const char* k : kKeys)
    if (j.contains(k)) return true;
  return false;
}

// "21-24-27" or [21, 24, 27] or 21 -> numbers.
Result<std::vector<double>> NumberList(const json& v, const std::string& where) {
  std::vector<double> out;
  if (v.is_number()) {
    out.push_back(v.get<double>());
  } else if (v.is_array()) {
    for (const auto& x : v) {
      if (!x.is_number()) return InvalidArgument(where + ": expected numbers, found " + x.dump());
      out.push_back(x.get<double>());
    }
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find('-', i);
      if (j == std::string::npos) j = s.size();
      std::string tok = s.substr(i, j - i);
      char* end = nullptr;
      double d = std::strtod(tok.c_str(), &end);
      if (tok.empty() || *end) return InvalidArgument(where + ": cannot parse '" + tok + "' in \"" + s + "\"");
      out.push_back(d);
      i = j + 1;
    }
  } else if (!v.is_null()) {
    return InvalidArgument(where + ": expected a list, a number or a 'a-b-c' string");
  }
  return out;
}

Result<int> CountOrAll(const json& v, const std::string& where) {
  if (v.is_string() && v.get<std::string>() == "all") return -1;
  if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (1 << 20)) return static_cast<int>(v.get<int64_t>());
  return InvalidArgument(where + ": expected a non-negative integer or \"all\", found " + v.dump());
}

Result<Scheme> FromReferenceKeys(const json& j, const std::string& label) {
  Scheme s;
  auto where = [&](const char* k) { return label + ": " + k; };
  if (j.contains("enable_backward_config")) {
    const json& e = j["enable_backward_config"];
    if (!e.is_number_integer() && !e.is_boolean()) return InvalidArgument(where("enable_backward_config") + ": expected 0 or 1");
    if (e.is_boolean() ? !e.get<bool>() : e.get<int64_t>() == 0) {
      s.full_update = true;
      return s;
    }
  }
  if (j.contains("n_bias_update")) {
    TTE_ASSIGN_OR_RETURN(s.n_bias_update, CountOrAll(j["n_bias_update"], where("n_bias_update")));
  }
  if (j.contains("weight_select_criteria") && !j["weight_select_criteria"].is_null()) {
    if (!j["weight_select_criteria"].is_string()) return InvalidArgument(where("weight_select_criteria") + ": expected a string");
    s.select = j["weight_select_criteria"].get<std::string>();
  }
  std::vector<double> idx, ratio;
  if (j.contains("manual_weight_idx")) {
    TTE_ASSIGN_OR_RETURN(idx, NumberList(j["manual_weight_idx"], where("manual_weight_idx")));
  }
  if (j.contains("weight_update_ratio")) {
    TTE_ASSIGN_OR_RETURN(ratio, NumberList(j["weight_update_ratio"], where("weight_update_ratio")));
  }
  if (!idx.empty()) {
    if (ratio.empty()) ratio.assign(idx.size(), 1.0);
    if (ratio.size() == 1 && idx.size() > 1) ratio.assign(idx.size(), ratio[0]);
    if (ratio.size() != idx.size())
      return InvalidArgument(label + ": weight_update_ratio has " + std::to_string(ratio.size()) +
                             " entries but manual_weight_idx has " + std::to_string(idx.size()));
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] != std::floor(idx[i]) || idx[i] < 0)
        return InvalidArgument(where("manual_weight_idx") + ": " + std::to_string(idx[i]) + " is not a conv index");
      if (ratio[i] < 0) return InvalidArgument(where("weight_update_ratio") + ": negative ratio");
      s.weights.push_back(WeightRule{static_cast<int>(idx[i]), ratio[i], {}});
    }
  } else if (j.contains("n_weight_update")) {
    TTE_ASSIGN_OR_RETURN(s.n_weight_update, CountOrAll(j["n_weight_update"], where("n_weight_update")));
    if (!ratio.empty() && ratio.size() != 1)
      return InvalidArgument(where("weight_update_ratio") + ": with n_weight_update, give one ratio for all");
    if (!ratio.empty() && ratio[0] != 1.0) {
      // Expanded at resolution time: store as a marker rule.
      s.weights.push_back(WeightRule{-1, ratio[0], {}});
    }
  }
  return s;
}

Result<Scheme> FromNative(const json& j, const std::string& label) {
  Scheme s;
  if (j.contains("weight_select_criteria")) s.select = j["weight_select_criteria"].get<std::string>();
  if (j.contains("bias")) {
    const json& b = j["bias"];
    if (b.is_string()) {
      std::string v = b.get<std::string>();
      if (v == "all") s.n_bias_update = -1;
      else if (v == "none") s.n_bias_update = 0;
      else if (v.rfind("last:", 0) == 0) s.n_bias_update = std::atoi(v.c_str() + 5);
      else return InvalidArgument(label + ": bias: expected \"all\", \"none\", \"last:N\" or a list of conv indices");
    } else if (b.is_array()) {
      for (const auto& x : b) {
        if (!x.is_number_integer()) return InvalidArgument(label + ": bias: expected conv indices");
        s.bias_convs.push_back(x.get<int>());
      }
    } else {
      return InvalidArgument(label + ": bias: expected a string or a list");
    }
  }
  if (j.contains("weights")) {
    if (!j["weights"].is_array()) return InvalidArgument(label + ": weights: expected a list");
    for (const auto& w : j["weights"]) {
      if (!w.is_object() || !w.contains("conv") || !w["conv"].is_number_integer())
        return InvalidArgument(label + ": weights: each entry needs an integer \"conv\"");
      WeightRule r;
      r.conv = w["conv"].get<int>();
      if (w.contains("channels")) {
        for (const auto& c : w["channels"]) {
          if (!c.is_number_integer()) return InvalidArgument(label + ": weights[conv " + std::to_string(r.conv) + "].channels: expected integers");
          r.channels.push_back(c.get<int>());
        }
        if (r.channels.empty()) r.ratio = 0;
      } else if (w.contains("ratio")) {
        if (!w["ratio"].is_number() || w["ratio"].get<double>() < 0)
          return InvalidArgument(label + ": weights[conv " + std::to_string(r.conv) + "].ratio: expected a number >= 0");
        r.ratio = w["ratio"].get<double>();
      }
      s.weights.push_back(std::move(r));
    }
  }
  return s;
}

}  // namespace

Result<Scheme> ParseScheme(const std::string& text, const std::string& label, const std::string& scheme_name,
                           const std::string& model_hint) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(label + ": not valid JSON");
  std::string name = scheme_name;
  const json* chosen = nullptr;
  if (IsSchemeObject(j) && name.empty()) {
    chosen = &j;
    name = label;
  } else {
    if (!j.is_object()) return InvalidArgument(label + ": expected a JSON object");
    std::string model, entry = name;
    if (size_t slash = name.find('/'); slash != std::string::npos) {
      model = name.substr(0, slash);
      entry = name.substr(slash + 1);
    }
    if (entry.empty()) {
      std::string avail;
      for (auto& [m, v] : j.items())
        if (v.is_object() && m[0] != '_')
          for (auto& [n, _] : v.items()) avail += " " + m + "/" + n;
      return InvalidArgument(label + ": holds several schemes; choose one with --scheme-name (available:" + avail + ")");
    }
    std::vector<std::string> hits;
    for (auto& [m, v] : j.items()) {
      if (!v.is_object() || m.empty() || m[0] == '_') continue;
      if (!model.empty() && m != model) continue;
      if (v.contains(entry) && IsSchemeObject(v[entry])) hits.push_back(m);
    }
    if (hits.size() > 1 && model.empty() && !model_hint.empty()) {
      for (const auto& h : hits)
        if (model_hint.find(h) != std::string::npos || h.find(model_hint) != std::string::npos) hits = {h};
    }
    if (hits.empty()) return NotFound(label + ": no scheme named '" + name + "'");
    if (hits.size() > 1) {
      std::string opts;
      for (const auto& h : hits) opts += " " + h + "/" + entry;
      return InvalidArgument(label + ": scheme '" + entry + "' exists for several models; write one of:" + opts);
    }
    chosen = &j[hits[0]][entry];
    name = hits[0] + "/" + entry;
  }
  Result<Scheme> s = chosen->contains("tte_scheme") ? FromNative(*chosen, label + ":" + name)
                                                    : FromReferenceKeys(*chosen, label + ":" + name);
  if (s.ok()) s->name = name;
  return s;
}

Result<Scheme> LoadScheme(const std::string& path, const std::string& scheme_name, const std::string& model_hint) {
  TTE_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  return ParseScheme(text, path, scheme_name, model_hint);
}

Result<Scheme> BuiltinScheme(const std::string& name) {
  Scheme s;
  s.name = name;
  if (name == "full") {
    s.full_update = true;
  } else if (name == "bias-only") {
    s.n_bias_update = -1;
  } else if (name == "head-only") {
    s.n_bias_update = 0;
  } else if (name.rfind("last:", 0) == 0) {
    int n = std::atoi(name.c_str() + 5);
    if (n <= 0) return InvalidArgument("scheme " + name + ": N must be positive");
    s.n_bias_update = n;
    s.n_weight_update = n;
  } else {
    return NotFound("unknown built-in scheme '" + name + "' (built-ins: full, bias-only, head-only, last:N)");
  }
  return s;
}

int ResolvedScheme::earliest() const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].bias || !layers[i].channels.empty()) return static_cast<int>(i);
  return -1;
}

int64_t ResolvedScheme::trainable_weight_elements(const LayerView& v) const {
  int64_t n = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& c = v.layers[i];
    int64_t per = c.depthwise ? c.kk() : static_cast<int64_t>(c.cout) * c.kk();
    int64_t channels = static_cast<int64_t>(layers[i].channels.size());
    if (c.groups > 1 && !c.depthwise) channels /= c.groups;  // each output channel reads cin / groups inputs
    n += per * channels;
  }
  return n;
}

Result<ResolvedScheme> ResolveScheme(const Scheme& s, const ir::Graph& g, const LayerView& v, uint64_t seed) {
  const int n = static_cast<int>(v.layers.size());
  ResolvedScheme r;
  r.name = s.name;
  r.layers.assign(n, LayerTraining{});
  auto err = [&](const std::string& msg) { return InvalidArgument("scheme " + s.name + ": " + msg); };
  auto sel_count = [](const Layer& c) { return c.selection_count(); };
  auto select = [&](int idx, double ratio, std::vector<int>* out) -> Status {
    const Layer& c = v.layers[static_cast<size_t>(idx)];
    if (c.groups > 1 && !c.depthwise && ratio > 0 && ratio != 1.0)
      return Unsupported("scheme " + s.name + ": conv " + std::to_string(idx) + " (" + c.name +
                         ") is a grouped conv; only full-weight updates are supported for it");
    const int total = sel_count(c);
    int keep = ratio <= 1.0 ? static_cast<int>(std::floor(total * ratio + 1e-9)) : std::min(total, static_cast<int>(ratio));
    if (keep <= 0) return Status::Ok();
    std::vector<double> score(total, 0.0);
    const int kk = c.kk(), ipg = c.in_per_group();
    const int8_t* weight = g.value(c.weight).as<int8_t>();
    for (int o = 0; o < c.cout; ++o)
      for (int i = 0; i < ipg; ++i)
        for (int e = 0; e < kk; ++e) {
          double w = weight[(static_cast<size_t>(o) * ipg + i) * kk + e];
          score[c.depthwise ? o : (o / (c.cout / c.groups)) * ipg + i] += w * w;
        }
    std::vector<int> order(total);
    std::iota(order.begin(), order.end(), 0);
    if (s.select == "magnitude+") {
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
    } else if (s.select == "magnitude-") {
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] < score[b]; });
    } else if (s.select == "random") {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(idx) * 7919);
      std::shuffle(order.begin(), order.end(), rng);
    } else {
      return err("weight_select_criteria '" + s.select + "' (expected magnitude+, magnitude- or random)");
    }
    out->assign(order.begin(), order.begin() + keep);
    std::sort(out->begin(), out->end());
    return Status::Ok();
  };

  if (s.full_update) {
    for (int i = 0; i < n; ++i) {
      r.layers[i].bias = true;
      TTE_RETURN_IF_ERROR(select(i, 1.0, &r.layers[i].channels));
    }
    return r;
  }
  int nb = s.n_bias_update < 0 ? n : s.n_bias_update;
  if (nb > n) return err("n_bias_update " + std::to_string(nb) + " exceeds the model's " + std::to_string(n) + " convs");
  for (int i = n - nb; i < n; ++i) r.layers[i].bias = true;
  for (int b : s.bias_convs) {
    if (b < 0 || b >= n) return err("bias conv " + std::to_string(b) + " is outside 0.." + std::to_string(n - 1));
    r.layers[b].bias = true;
  }
  std::vector<WeightRule> rules = s.weights;
  double uniform_ratio = 1.0;
  if (!rules.empty() && rules[0].conv == -1) {
    uniform_ratio = rules[0].ratio;
    rules.clear();
  }
  if (rules.empty() && s.n_weight_update != 0) {
    int nw = s.n_weight_update < 0 ? nb : s.n_weight_update;
    if (nw > n) return err("n_weight_update " + std::to_string(nw) + " exceeds the model's " + std::to_string(n) + " convs");
    for (int i = n - nw; i < n; ++i) rules.push_back(WeightRule{i, uniform_ratio, {}});
  }
  for (const WeightRule& w : rules) {
    if (w.conv < 0 || w.conv >= n) return err("weight conv index " + std::to_string(w.conv) + " is outside 0.." + std::to_string(n - 1));
    if (s.bias_convs.empty() && !r.layers[w.conv].bias && w.ratio > 0)
      return err("conv " + std::to_string(w.conv) + " has a weight update but is not among the last n_bias_update = " +
                 std::to_string(nb) + " convs (the reference asserts this)");
    std::vector<int>& ch = r.layers[w.conv].channels;
    if (!w.channels.empty()) {
      const int total = sel_count(v.layers[static_cast<size_t>(w.conv)]);
      ch = w.channels;
      std::sort(ch.begin(), ch.end());
      ch.erase(std::unique(ch.begin(), ch.end()), ch.end());
      if (ch.front() < 0 || ch.back() >= total)
        return err("conv " + std::to_string(w.conv) + ": channel list has entries outside 0.." + std::to_string(total - 1));
    } else {
      TTE_RETURN_IF_ERROR(select(w.conv, w.ratio, &ch));
    }
  }
  return r;
}

}  // namespace tte
