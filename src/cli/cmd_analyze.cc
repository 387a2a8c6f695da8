// `tte analyze`: contribution analysis of any importable model (search/analysis.h): short fine-tuning runs on a
// proxy split, one per (layer, what is updated), each cached under DIR/runs/ by a content hash, then the table
// (analysis.json, analysis.csv) and the contribution plot (analysis.svg). Runs are spread over `mpirun -np N`
// ranks, or over independent processes with --rank/--ranks; a killed analysis resumes without repeating a run.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "runtime/export.h"
#include "search/analysis.h"
#include "search/mpi_ranks.h"

namespace tte::cli {
namespace {

struct AnalyzeCmd {
  std::string model, out;
  DataOptions data;
  CompileOptions compile;
  std::string eval_data, eval_labels, ratios = "0.125,0.25,0.5,1";
  int64_t train_samples = 1000, eval_samples = 1000;
  int epochs = 1, batch = 1, bias_step = 1, first_layer = 0, threads = 2;
  float lr = 0.004f, warmup_epochs = 0.0f;  // batch 1: docs/accuracy.md's per-sample rate
  bool augment = false, gather_only = false;
  int rank = -1, ranks = -1;
};

// Train split: the first --train-samples; proxy evaluation: the next --eval-samples of the same training split
// (Fashion-MNIST, MLPerf folders), DIR/val of an image folder, or --eval-data. The test split stays unseen.
Result<std::pair<DatasetSpec, DatasetSpec>> ProxySpecs(const AnalyzeCmd& o) {
  DataOptions d = o.data;
  if (d.split != "train")
    return InvalidArgument("--split " + d.split + ": the analysis trains and evaluates on the training split (its proxy); "
                           "the test split stays unseen");
  d.max_samples = o.train_samples;
  TTE_ASSIGN_OR_RETURN(DatasetSpec train, d.Spec());
  DatasetSpec eval = train;
  eval.max_samples = o.eval_samples;
  if (!o.eval_data.empty()) {
    TTE_ASSIGN_OR_RETURN(eval, d.SpecOf(o.eval_data, o.eval_labels, o.eval_samples, d.split));
  } else if (train.kind == "fmnist" || train.kind == "mlperf" || train.kind == "npy") {
    if (o.train_samples < 0)
      return InvalidArgument("--train-samples -1: the proxy evaluation samples follow the training ones; give a count");
    eval.skip = o.train_samples;
  } else if (train.kind == "folder") {
    const std::string root = train.path;
    train.path = root + "/train";
    eval.path = root + "/val";
    if (!IsDirectory(eval.path)) return NotFound(eval.path + ": the proxy evaluation folder of --data folder: is missing");
  }
  return std::make_pair(train, eval);
}

std::string SpecJson(const DatasetSpec& s) {
  return nlohmann::json({{"kind", s.kind}, {"path", s.path}, {"raw", s.raw}, {"labels", s.labels_path},
                         {"split", s.split}, {"classes", s.classes}, {"skip", s.skip}, {"max", s.max_samples},
                         {"eval_transform", s.eval_transform}, {"presize", s.presize}})
      .dump();
}

Result<std::vector<double>> ParseRatios(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const double r = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !(r > 0 && r <= 1))
      return InvalidArgument("--ratios: '" + item + "' is not a ratio in (0, 1]");
    out.push_back(r);
  }
  return out;
}

int RunAnalyze(const AnalyzeCmd& o) {
  const RankInfo world = StartRanks();
  RankInfo me = world;
  if (o.rank >= 0 || o.ranks > 0) {
    if (world.size > 1) return Fail("analyze", InvalidArgument("--rank/--ranks: not under mpirun (MPI gives the ranks)"));
    if (o.ranks <= 0 || o.rank < 0 || o.rank >= o.ranks)
      return Fail("analyze", InvalidArgument("--rank R --ranks N: need 0 <= R < N"));
    me.rank = o.rank, me.size = o.ranks;
  }
  const std::string who = me.size > 1 ? "rank " + std::to_string(me.rank) + "/" + std::to_string(me.size) + ": " : "";
  auto fail = [&](const Status& s) {
    Fail("analyze", s.WithContext(who.empty() ? o.out : who + o.out));
    FinishRanks(world, false);
    return 1;
  };
  auto m = LoadModelOrExplain(o.model, o.compile.resolution);
  if (!m.ok()) return fail(m.status());
  auto bytes = ReadFile(o.model);
  if (!bytes.ok()) return fail(bytes.status());
  auto specs = ProxySpecs(o);
  if (!specs.ok()) return fail(specs.status());
  auto train = OpenDataset(specs->first);
  if (!train.ok()) return fail(train.status());
  auto eval = OpenDataset(specs->second);
  if (!eval.ok()) return fail(eval.status());
  auto ratios = ParseRatios(o.ratios);
  if (!ratios.ok()) return fail(ratios.status());
  AnalysisSettings s;
  s.ratios = *ratios;
  s.bias_step = o.bias_step;
  s.first_layer = o.first_layer;
  s.trainer.epochs = o.epochs;
  s.trainer.batch = o.batch;
  s.trainer.lr = o.lr;
  s.trainer.warmup_epochs = o.warmup_epochs;
  s.trainer.augment = o.augment;
  s.trainer.seed = o.compile.seed;
  s.trainer.threads = o.threads;
  auto opt = o.compile.Options((*train)->num_classes());
  if (!opt.ok()) return fail(opt.status());
  s.options = *opt;
  if (!o.compile.new_head)
    HeadFromGraph(m->graph, s.options.num_classes, &s.options.head_weight, &s.options.head_bias, o.compile.keep_classifier);
  auto view = MakeLayerView(m->graph);
  if (!view.ok()) return fail(view.status());
  AnalysisIdentity id;
  id.model_path = o.model;
  id.model_hash = Fnv1a64(bytes->data(), bytes->size());
  id.data = "train " + SpecJson(specs->first) + " eval " + SpecJson(specs->second);
  id.settings = SettingsJson(s);
  const RunCache cache(o.out, id);
  const std::vector<AnalysisRun> runs = PlanAnalysisRuns(*view, s);
  // This rank's runs (run j belongs to rank j mod size), each with its position, and those still to do: the cache
  // is read once per run.
  std::vector<std::pair<size_t, size_t>> todo;  // (run index, position among this rank's runs)
  size_t mine = 0;
  for (size_t j = 0; j < runs.size(); ++j) {
    if (static_cast<int>(j % static_cast<size_t>(me.size)) != me.rank) continue;
    auto hit = cache.Load(runs[j]);
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) return fail(hit.status());
    if (!hit.ok()) todo.emplace_back(j, mine);
    ++mine;
  }
  std::printf("tte analyze: %s%s, %zu layers, %zu runs (%zu train / %zu proxy-eval samples, %d epoch(s), lr %g); "
              "this process: %zu runs, %zu cached; %s\n",
              who.c_str(), o.model.c_str(), view->layers.size(), runs.size(), (*train)->size(), (*eval)->size(), o.epochs,
              static_cast<double>(o.lr), mine, mine - todo.size(), MpiDescription().c_str());
  std::fflush(stdout);
  for (const auto& [j, position] : o.gather_only ? decltype(todo){} : todo) {
    const AnalysisRun& run = runs[j];
    const auto t0 = std::chrono::steady_clock::now();
    auto r = ExecuteRun(m->graph, run, s, **train, **eval);
    if (!r.ok()) return fail(r.status());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (Status st = cache.Store(*r, secs); !st.ok()) return fail(st);
    std::printf("  %s[%zu/%zu] %-20s top-1 %6.2f%%%s, %.1f s\n", who.c_str(), position + 1, mine, run.Id().c_str(),
                r->top1, r->diverged ? " (diverged)" : "", secs);
    std::fflush(stdout);
  }
  if (!FinishRanks(world, /*ok=*/true)) {
    std::fprintf(stderr, "tte analyze: %sanother rank failed (its message is above)\n", who.c_str());
    return 1;
  }
  if (me.rank != 0) return 0;  // rank 0 gathers
  auto table = GatherAnalysis(*view, runs, cache);
  if (!table.ok()) {
    if (me.size > 1 && o.rank >= 0)
      std::printf("tte analyze: rank %d done; the table is written once every rank's runs are cached "
                  "(run the same command without --rank/--ranks to gather)\n", me.rank);
    return me.size > 1 && o.rank >= 0 ? 0 : Fail("analyze", table.status());
  }
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"analysis.json", AnalysisJson(*table, id).dump(1) + "\n"},
        {"analysis.csv", AnalysisCsv(*table)},
        {"analysis.svg", AnalysisSvg(*table, "tte analyze: " + FileStem(o.model) + ", gain over the head only (" +
                                                  std::to_string((*eval)->size()) + " proxy samples)")}})
    if (Status st = WriteFileAtomic(o.out + "/" + name, text); !st.ok()) return Fail("analyze", st);
  double best_bias = -1e9, best_w = -1e9;
  std::string best_w_name;
  for (const RunResult& r : table->bias) best_bias = std::max(best_bias, r.top1 - table->baseline);
  for (const RunResult& r : table->weights)
    if (r.top1 - table->baseline > best_w) {
      best_w = r.top1 - table->baseline;
      best_w_name = r.run.Id();
    }
  std::printf("result: head only %.2f%%; best bias run %+.2f points; best weight run %s %+.2f points; "
              "%s/analysis.{json,csv,svg}\n",
              table->baseline, best_bias, best_w_name.c_str(), best_w, o.out.c_str());
  return 0;
}

}  // namespace

void AddAnalyzeCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AnalyzeCmd>();
  CLI::App* c = app.add_subcommand(
      "analyze", "Contribution analysis: short fine-tuning runs per layer (bias, weights at each ratio), cached and "
                 "resumable, spread over MPI ranks; the table tte search reads");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  c->add_option("--out", o->out, "Analysis directory: runs/ (the cache), analysis.json, analysis.csv, analysis.svg")
      ->required();
  o->data.Add(c, "train", /*with_max_samples=*/false);
  o->compile.Add(c);
  c->add_option("--eval-data", o->eval_data,
                "Proxy evaluation data (default: the --eval-samples training samples after the --train-samples ones, "
                "or DIR/val of a folder; the test split is never used)");
  c->add_option("--eval-labels", o->eval_labels, "Labels .npy for --eval-data npy:FILE");
  c->add_option("--train-samples", o->train_samples, "Training samples of each run")->capture_default_str();
  c->add_option("--eval-samples", o->eval_samples, "Proxy evaluation samples")->capture_default_str();
  c->add_option("--epochs", o->epochs, "Epochs of each run")->capture_default_str();
  c->add_option("--batch", o->batch, "Samples per update")->capture_default_str();
  c->add_option("--lr", o->lr, "Learning rate of each run")->capture_default_str();
  c->add_option("--warmup-epochs", o->warmup_epochs, "Linear warm-up of each run (then cosine decay), as tte train")
      ->capture_default_str();
  c->add_flag("--augment", o->augment, "Augment the training samples (default: off, the runs are short)");
  c->add_option("--ratios", o->ratios, "Weight ratios analysed per layer (floor(r C) channels by magnitude)")
      ->capture_default_str();
  c->add_option("--bias-step", o->bias_step, "Bias runs for the last k = STEP, 2 STEP, ..., all layers")->capture_default_str();
  c->add_option("--first-layer", o->first_layer, "Analyse weights of layers >= this index only")->capture_default_str();
  c->add_option("--threads", o->threads, "Evaluation threads of each run")->capture_default_str();
  c->add_option("--rank", o->rank, "Without MPI: run only the runs j with j mod RANKS = RANK (see --ranks)");
  c->add_option("--ranks", o->ranks, "Without MPI: the number of processes sharing the runs");
  c->add_flag("--gather-only", o->gather_only, "Run nothing: write the table from the cached runs (fails if any is missing)");
  c->callback([o, exit_code] { *exit_code = RunAnalyze(*o); });
}

}  // namespace tte::cli
