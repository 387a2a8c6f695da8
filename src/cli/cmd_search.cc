// `tte search`: the sparse-update scheme with the largest predicted gain (from `tte analyze`) whose planned peak
// SRAM fits --budget (search/scheme_search.h); writes the scheme in tte's native form and a report. --sweep
// searches a list of budgets and writes the accuracy-vs-memory frontier (CSV, JSON, one scheme per budget).
// --verify measures instead of predicting: one candidate per limit on the weight-trained layers, each fine-tuned on
// the analysis's proxy split, the best measured one kept (search/verify.h).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/byte_size.h"
#include "core/file_io.h"
#include "runtime/export.h"
#include "search/scheme_search.h"
#include "search/verify.h"

namespace tte::cli {
namespace {

struct SearchCmd {
  std::string model, analysis, budget, sweep, out, report, reserve = "8K", verify_limits = "0,1,2,3,4,6,8,-1";
  CompileOptions compile;
  int population = 32, generations = 30, threads = 2, max_weight_layers = -1;
  bool quiet = false, verify = false;
};

std::string Kb(int64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f KB", b / 1024.0);
  return buf;
}

std::string Describe(const SchemeChoice& c, const LayerView& v) {
  std::string s = c.n_bias ? "biases of the last " + std::to_string(c.n_bias) + " layers" : "head only";
  for (const auto& [layer, ratio] : c.weights) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%d %s @%g", s.find(" weights:") == std::string::npos ? "; weights: " : ", ", layer,
                  v.layers[static_cast<size_t>(layer)].short_name.c_str(), ratio);
    s += buf;
  }
  return s;
}

int RunSearch(const SearchCmd& o) {
  if (o.budget.empty() == o.sweep.empty()) return Fail("search", InvalidArgument("give --budget or --sweep (one of them)"));
  auto m = LoadModelOrExplain(o.model, o.compile.resolution);
  if (!m.ok()) return Fail("search", m.status());
  const std::string apath = IsDirectory(o.analysis) ? o.analysis + "/analysis.json" : o.analysis;
  auto text = ReadTextFile(apath);
  if (!text.ok()) return Fail("search", text.status().WithContext("--analysis"));
  const nlohmann::json aj = nlohmann::json::parse(*text, nullptr, false);
  auto table = AnalysisFromJson(aj, apath);
  if (!table.ok()) return Fail("search", table.status());
  auto bytes = ReadFile(o.model);
  if (!bytes.ok()) return Fail("search", bytes.status());
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(Fnv1a64(bytes->data(), bytes->size())));
  if (aj.value("model_fnv1a64", std::string()) != hash)
    return Fail("search", InvalidArgument(apath + ": field 'model_fnv1a64' says the analysis was made from another model "
                                          "file than " + o.model));
  auto view = MakeLayerView(m->graph);
  if (!view.ok()) return Fail("search", view.status());
  const int classes = aj.at("settings").value("num_classes", 10);
  auto opt = o.compile.Options(classes);
  if (!opt.ok()) return Fail("search", opt.status());
  if (!o.compile.new_head) HeadFromGraph(m->graph, classes, &opt->head_weight, &opt->head_bias, o.compile.keep_classifier);
  auto reserve = ParseByteSize(o.reserve);
  if (!reserve.ok() && o.reserve != "0") return Fail("search", reserve.status().WithContext("--reserve"));
  std::vector<int> limits;
  std::optional<ProxySetup> proxy;
  if (o.verify) {
    std::stringstream ls(o.verify_limits);
    for (std::string item; std::getline(ls, item, ',');) {
      char* end = nullptr;
      const long v = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < -1 || v > 100000)
        return Fail("search", InvalidArgument("--verify-limits: '" + item + "' is not a layer count (or -1: no limit)"));
      limits.push_back(static_cast<int>(v));
    }
    if (limits.empty()) return Fail("search", InvalidArgument("--verify-limits: give at least one limit, e.g. 0,2,-1"));
    auto p = ProxySetupFromAnalysis(aj, apath, o.model, Fnv1a64(bytes->data(), bytes->size()), *opt, o.threads);
    if (!p.ok()) return Fail("search", p.status());
    proxy = std::move(*p);
  }
  const std::string cache_dir = IsDirectory(o.analysis) ? o.analysis : std::filesystem::path(apath).parent_path().string();
  std::vector<int64_t> budgets;
  std::stringstream ss(o.sweep.empty() ? o.budget : o.sweep);
  for (std::string item; std::getline(ss, item, ',');) {
    auto b = ParseByteSize(item);
    if (!b.ok()) return Fail("search", b.status().WithContext(o.sweep.empty() ? "--budget" : "--sweep"));
    budgets.push_back(*b);
  }
  if (!o.sweep.empty() && !o.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) return Fail("search", InvalidArgument("--out " + o.out + ": cannot create the directory: " + ec.message()));
  }
  nlohmann::json frontier = nlohmann::json::array();
  std::string csv =
      "budget_bytes,planned_peak_sram_bytes,predicted_gain,predicted_top1,bias_layers,weight_layers,scheme,measured_top1\n";
  SearchSettings base;
  base.reserve = reserve.ok() ? *reserve : 0;
  base.population = o.population;
  base.generations = o.generations;
  base.seed = o.compile.seed;
  base.threads = o.threads;
  base.progress = !o.quiet && !o.verify;
  auto searcher = SchemeSearcher::Create(m->graph, *view, *table, *opt, base);  // one memo for every budget
  if (!searcher.ok()) return Fail("search", searcher.status());
  for (int64_t budget : budgets) {
    SearchSettings s = base;
    s.budget = budget;
    s.max_weight_layers = o.max_weight_layers;
    Result<SearchResult> r = SearchResult{};
    nlohmann::json verified;
    double measured = std::nan("");
    if (o.verify) {
      std::printf("budget %s: %zu searches (at most %s weight-trained layers), each candidate measured on the proxy "
                  "split\n", Kb(budget).c_str(), limits.size(), o.verify_limits.c_str());
      std::fflush(stdout);
      auto v = SearchAndVerify(**searcher, budget, limits, m->graph, *table, *proxy, cache_dir,
                               [](const std::string& line) {
                                 std::printf("%s\n", line.c_str());
                                 std::fflush(stdout);
                               });
      if (!v.ok()) return Fail("search", v.status());
      r = v->search;
      if (v->search.found) {
        verified = VerifiedJson(*v, *table);
        measured = v->candidates[v->best].measured.top1;
        s.max_weight_layers = v->candidates[v->best].max_weight_layers;
      }
    } else {
      r = (*searcher)->Search(budget, o.max_weight_layers);
    }
    if (!r.ok()) return Fail("search", r.status());
    nlohmann::json rep = SearchReportJson(*r, s, *view, *table);
    if (!verified.is_null()) {
      rep["verified"] = verified;
      rep["measured_top1"] = measured;
    }
    if (!r->found) {
      const Status st = OutOfMemory("budget " + Kb(budget) + ": even the head-only program needs " +
                                    Kb(r->head_only_sram) + " of SRAM (tte plan --scheme head-only shows where)");
      if (o.sweep.empty()) return Fail("search", st);
      std::printf("budget %s: nothing fits (head only needs %s)\n", Kb(budget).c_str(), Kb(r->head_only_sram).c_str());
      frontier.push_back(rep);
      continue;
    }
    std::printf("budget %s: %s\n  predicted %+.2f points over the head only (%.2f%% -> %.2f%% on the proxy split), "
                "planned peak SRAM %s (arena %s, state %s, patches %dx%d), %lld candidates planned\n",
                Kb(budget).c_str(), Describe(r->best, *view).c_str(), r->best.predicted_gain, table->baseline,
                table->baseline + r->best.predicted_gain, Kb(r->best.peak_sram).c_str(), Kb(r->best.arena).c_str(),
                Kb(r->best.state).c_str(), r->best.patch_grid, r->best.patch_grid, static_cast<long long>(r->planned));
    if (!std::isnan(measured))
      std::printf("  measured %.2f%% on the proxy split (%+.2f points over the head only): the best of the candidates\n",
                  measured, measured - table->baseline);
    const std::string scheme_text = r->best.NativeJson().dump(1) + "\n";
    if (o.sweep.empty()) {
      if (!o.out.empty()) {
        if (Status st = WriteFileAtomic(o.out, scheme_text); !st.ok()) return Fail("search", st);
        std::printf("  scheme written to %s (tte plan/train/codegen --scheme %s)\n", o.out.c_str(), o.out.c_str());
      }
      if (!o.report.empty())
        if (Status st = WriteFileAtomic(o.report, rep.dump(1) + "\n"); !st.ok()) return Fail("search", st);
      return 0;
    }
    const std::string name = "scheme-" + std::to_string(budget / 1024) + "kb.json";
    if (!o.out.empty())
      if (Status st = WriteFileAtomic(o.out + "/" + name, scheme_text); !st.ok()) return Fail("search", st);
    frontier.push_back(rep);
    char line[320];
    std::snprintf(line, sizeof line, "%lld,%lld,%.4f,%.4f,%d,%zu,%s,%s\n", static_cast<long long>(budget),
                  static_cast<long long>(r->best.peak_sram), r->best.predicted_gain,
                  table->baseline + r->best.predicted_gain, r->best.n_bias, r->best.weights.size(), name.c_str(),
                  std::isnan(measured) ? "" : std::to_string(measured).c_str());
    csv += line;
  }
  if (!o.out.empty()) {
    if (Status st = WriteFileAtomic(o.out + "/frontier.csv", csv); !st.ok()) return Fail("search", st);
    if (Status st = WriteFileAtomic(o.out + "/frontier.json", frontier.dump(1) + "\n"); !st.ok()) return Fail("search", st);
    std::printf("frontier written to %s/frontier.{csv,json} and %s/scheme-*kb.json\n", o.out.c_str(), o.out.c_str());
  }
  return 0;
}

}  // namespace

void AddSearchCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<SearchCmd>();
  CLI::App* c = app.add_subcommand(
      "search", "Search the sparse-update scheme with the most predicted gain (tte analyze) whose planned peak SRAM "
                "fits a budget; --sweep gives the accuracy-vs-memory frontier");
  c->add_option("--model", o->model, "Model file the analysis was made from (.pkl or .tflite)")->required();
  c->add_option("--analysis", o->analysis, "The analysis directory of tte analyze (or its analysis.json)")->required();
  c->add_option("--budget", o->budget, "Peak SRAM budget as tte plan counts it, e.g. 128KB (K = 1024 B)");
  c->add_option("--sweep", o->sweep, "Comma-separated budgets, e.g. 96KB,128KB,160KB: one search each, the frontier");
  c->add_option("--out", o->out, "Scheme file to write (with --sweep: a directory for scheme-*kb.json and frontier.*)");
  c->add_option("--report", o->report, "Report JSON of a --budget search (gain, planned SRAM, what is trained)");
  c->add_option("--reserve", o->reserve, "Stack/runtime reserve counted in SRAM, as tte plan --reserve")->capture_default_str();
  c->add_option("--population", o->population, "Candidates per generation")->capture_default_str();
  c->add_option("--generations", o->generations, "Generations of the evolutionary search")->capture_default_str();
  c->add_option("--threads", o->threads, "Threads planning candidates (results do not depend on it)")->capture_default_str();
  c->add_option("--max-weight-layers", o->max_weight_layers,
                "At most this many layers train weights (-1: no limit); the least useful are dropped first")
      ->capture_default_str();
  c->add_flag("--verify", o->verify,
              "Measure, not predict: search one candidate per --verify-limits entry, fine-tune each on the analysis's "
              "proxy split with its settings (cached in its runs/), keep the best measured");
  c->add_option("--verify-limits", o->verify_limits,
                "With --verify: the limits on weight-trained layers, one candidate each (-1: no limit)")
      ->capture_default_str();
  c->add_flag("--quiet", o->quiet, "No progress line");
  o->compile.Add(c, /*device_command=*/true);
  c->callback([o, exit_code] { *exit_code = RunSearch(*o); });
}

}  // namespace tte::cli
