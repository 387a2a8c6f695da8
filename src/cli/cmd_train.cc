// `tte train`: on-device-style training on the host. Compiles the sparse-update program, trains it on a
// dataset with the exact kernels the MCU runs, evaluates, and writes the trained model (.pkl with the
// new head, or .tflite: docs/export.md), per-epoch metrics (JSONL) and a training-curve plot (SVG).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "import/pkl/graph_from_model.h"
#include "model/pkl_io.h"
#include "runtime/trainer.h"
#include "runtime/training_curves.h"

namespace tte::cli {
namespace {

struct TrainCmd {
  std::string model;
  SchemeOptions scheme;
  CompileOptions compile;
  std::string data = "fmnist", labels, eval_data, eval_labels, classes, eval_transform = "resize", raw = "auto";
  std::string eval_split = "test";
  int64_t train_samples = -1, eval_samples = -1, eval_skip = 0;
  int presize = 0;
  int epochs = 1;
  int64_t steps = -1;
  int batch = 1;
  float lr = 0.01f;
  float warmup_epochs = 0.0f;
  bool no_augment = false;
  float jitter = 0.4f;
  float crop_scale = 0.08f;
  int eval_every = 1;
  bool eval_before = false;
  int threads = 2;
  std::string out, metrics, plot;
  bool quiet = false;
  double divergence_factor = 10;
  bool keep_last_good = false;
};

Result<std::pair<DatasetSpec, DatasetSpec>> Specs(const TrainCmd& o) {
  DataOptions d;
  d.data = o.data;
  d.labels = o.labels;
  d.raw = o.raw;
  d.classes = o.classes;
  d.eval_transform = o.eval_transform;
  d.presize = o.presize;
  d.split = "train";
  d.max_samples = o.train_samples;
  TTE_ASSIGN_OR_RETURN(DatasetSpec train, d.Spec());
  DatasetSpec eval = train;
  eval.max_samples = o.eval_samples;
  if (!o.eval_data.empty()) {
    TTE_ASSIGN_OR_RETURN(eval, d.SpecOf(o.eval_data, o.eval_labels, o.eval_samples, o.eval_split));
  } else if (train.kind == "fmnist") {
    eval.split = o.eval_split;
  } else if (train.kind == "folder") {
    std::string root = train.path;
    train.path = root + "/train";
    eval.path = IsDirectory(root + "/val") ? root + "/val" : root + "/test";
  } else if (train.kind == "mlperf") {
    // one folder: evaluate on its samples after the training ones (--train-samples N --eval-skip N)
  } else {
    return InvalidArgument("--data npy: give the evaluation set with --eval-data npy:FILE --eval-labels FILE");
  }
  if (o.eval_split != "test" && eval.kind != "fmnist")
    return InvalidArgument("--eval-split " + o.eval_split + ": only Fashion-MNIST has splits; the evaluation data here is " + eval.kind);
  eval.skip = o.eval_skip;
  if (eval.kind == train.kind && eval.path == train.path && eval.split == train.split &&
      (train.max_samples < 0 || eval.skip < train.max_samples))
    std::fprintf(stderr, "tte train: warning: the evaluation samples overlap the training samples "
                         "(use --eval-skip to evaluate on samples after the training ones)\n");
  return std::make_pair(train, eval);
}

// Writes the trained model to `out`: .tflite (chosen by the extension; export_tflite.h) or .pkl.
Status SaveTrained(const Trainer& T, const ImportedModel& m, const std::vector<std::string>& names, const std::string& out) {
  if (IsTflitePath(out)) {
    ir::Graph g;
    if (m.pkl) {  // the .pkl's own export (as the .pkl output), then its graph
      TTE_ASSIGN_OR_RETURN(Model trained, T.Export(*m.pkl, names));
      TTE_ASSIGN_OR_RETURN(g, GraphFromModel(trained, T.compiled().program.resolution));
    } else {
      TTE_ASSIGN_OR_RETURN(g, T.ExportGraph(m.graph, names));
    }
    TTE_ASSIGN_OR_RETURN(TfliteExport e, ExportTflite(g, out));
    TTE_RETURN_IF_ERROR(WriteFileAtomic(out, e.bytes));
    std::printf("  %s: %s\n", out.c_str(), e.summary.c_str());
    return Status::Ok();
  }
  if (!m.pkl)
    return Unsupported(out + ": a model imported from " + m.graph.format + " is exported as .tflite only (--out NAME.tflite)");
  TTE_ASSIGN_OR_RETURN(Model trained, T.Export(*m.pkl, names));
  return SaveModel(trained, out);
}

int RunTrain(const TrainCmd& o) {
  auto m = LoadModelOrExplain(o.model, o.compile.resolution);
  if (!m.ok()) return Fail("train", m.status());
  if (!o.out.empty() && !m->pkl && !IsTflitePath(o.out))
    return Fail("train", Unsupported(o.out + ": a model imported from " + m->graph.format +
                                     " is exported as .tflite only (--out NAME.tflite)"));
  auto scheme = o.scheme.Load(o.model);
  if (!scheme.ok()) return Fail("train", scheme.status());
  auto specs = Specs(o);
  if (!specs.ok()) return Fail("train", specs.status());
  auto train = OpenDataset(specs->first);
  if (!train.ok()) return Fail("train", train.status());
  auto eval = OpenDataset(specs->second);
  if (!eval.ok()) return Fail("train", eval.status());
  const int classes = (*train)->num_classes();
  auto opt = o.compile.Options(classes);
  if (!opt.ok()) return Fail("train", opt.status());
  if (!o.compile.new_head) HeadFromGraph(m->graph, classes, &opt->head_weight, &opt->head_bias, o.compile.keep_classifier);
  TrainerConfig cfg;
  cfg.epochs = o.epochs;
  cfg.max_updates = o.steps;
  cfg.batch = o.batch;
  cfg.lr = o.lr;
  cfg.warmup_epochs = o.warmup_epochs;
  cfg.augment = !o.no_augment;
  cfg.augment_config.brightness = cfg.augment_config.contrast = cfg.augment_config.saturation = o.jitter;
  cfg.augment_config.scale_min = o.crop_scale;
  cfg.seed = o.compile.seed;
  cfg.eval_every = o.eval_every;
  cfg.threads = o.threads;
  cfg.progress = !o.quiet;
  cfg.divergence_factor = o.divergence_factor;
  cfg.keep_last_good = o.keep_last_good;
  if (o.steps >= 0 && o.epochs <= 0) return Fail("train", InvalidArgument("--epochs must be positive"));
  auto trainer = Trainer::Create(m->graph, *scheme, *opt, cfg);
  if (!trainer.ok()) return Fail("train", trainer.status());
  Trainer& T = **trainer;
  const Program& P = T.compiled().program;
  int64_t state = 0;
  for (const auto& t : P.tensors)
    if (t.storage == Storage::kState) state += t.bytes();
  const SampleFormat format = SampleFormatOf(m->graph.input_spec);
  const std::string input = format.c == 3 && format.pixels == PixelQuant::kMinus128
                                ? std::to_string(format.h) + "x" + std::to_string(format.w)
                                : "input " + format.Describe();
  std::printf("tte train: %s, scheme %s, %d classes, %zu train / %zu eval samples, %s\n", o.model.c_str(),
              T.compiled().scheme.name.c_str(), classes, (*train)->size(), (*eval)->size(), input.c_str());
  std::printf("  program: %zu ops, arena %s, trained state %s (%s, %s, QAS %s, %s updates), batch %d, lr %g\n", P.ops.size(),
              HumanBytes(T.arena_bytes()).c_str(), HumanBytes(state).c_str(),
              P.train.store == TTE_STORE_MASTER ? "fp32 masters" : "int8/int32 in place",
              P.train.rounding == TTE_ROUND_STOCHASTIC ? "stochastic rounding" : "nearest rounding", P.train.qas ? "on" : "off",
              P.train.fused ? "fused" : "deferred", o.batch, static_cast<double>(o.lr));
  std::fflush(stdout);
  double before = -1;
  if (o.eval_before) {
    auto acc = T.Evaluate(**eval);
    if (!acc.ok()) return Fail("train", acc.status());
    before = *acc;
    std::printf("  before training: eval top-1 %.2f%%\n", before);
  }
  std::vector<EpochMetrics> history;
  std::string jsonl;
  Status metrics_status;
  Status st = T.Train(**train, eval->get(), [&](const EpochMetrics& e) {
    history.push_back(e);
    nlohmann::json j = {{"epoch", e.epoch}, {"updates", e.updates}, {"lr", e.lr}, {"train_loss", e.train_loss},
                        {"train_top1", e.train_acc}, {"seconds", e.seconds}, {"ms_per_sample", e.ms_per_sample},
                        {"max_window_loss", e.max_window_loss}, {"loss_limit", e.loss_limit}};
    if (e.eval_acc >= 0) j["eval_top1"] = e.eval_acc;
    jsonl += j.dump() + "\n";
    std::printf("  epoch %d: loss %.4f, train top-1 %.2f%%", e.epoch, e.train_loss, e.train_acc);
    if (e.eval_acc >= 0) std::printf(", eval top-1 %.2f%%", e.eval_acc);
    std::printf(", %.1f s, %.2f ms per training sample\n", e.seconds, e.ms_per_sample);
    std::fflush(stdout);
    // The metrics so far, rewritten whole after every epoch (temp + rename): a run in progress can be plotted.
    if (!o.metrics.empty() && metrics_status.ok()) metrics_status = WriteFileAtomic(o.metrics, jsonl);
  });
  if (!st.ok() && T.diverged() && metrics_status.ok() && o.keep_last_good && !o.out.empty()) {
    // The run failed (diverged): on request, the state of the last good epoch is written, and the run
    // still fails. The metrics of the epochs that completed stay.
    Fail("train", st);
    auto epoch = T.RestoreLastGood();
    if (!epoch.ok()) return Fail("train", epoch.status());
    Status saved = SaveTrained(T, *m, (*train)->class_names(), o.out);
    if (!saved.ok()) return Fail("train", saved);
    std::fprintf(stderr, "tte train: --keep-last-good: wrote the state of %s to %s\n",
                 *epoch == 0 ? "the start of the run (no epoch completed)" : ("the end of epoch " + std::to_string(*epoch)).c_str(),
                 o.out.c_str());
    return 1;
  }
  if (!st.ok() || !metrics_status.ok()) {
    if (!history.empty() && !o.metrics.empty()) std::remove(o.metrics.c_str());  // no partial output of a failed run
    return Fail("train", !st.ok() ? st : metrics_status);
  }
  if (!o.plot.empty() && !history.empty()) {
    st = WriteFileAtomic(o.plot, TrainingCurvesSvg(history, "tte train: " + FileStem(o.model) + ", " + T.compiled().scheme.name));
    if (!st.ok()) return Fail("train", st);
  }
  if (!o.out.empty()) {
    st = SaveTrained(T, *m, (*train)->class_names(), o.out);
    if (!st.ok()) return Fail("train", st);
  }
  const EpochMetrics& last = history.back();
  std::printf("result: eval top-1 %.2f%%", last.eval_acc);
  if (before >= 0) std::printf(" (before: %.2f%%)", before);
  std::printf(", %.2f ms per training sample on this host%s%s\n", last.ms_per_sample,
              o.out.empty() ? "" : ", model written to ", o.out.c_str());
  return 0;
}

}  // namespace

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<TrainCmd>();
  CLI::App* c = app.add_subcommand(
      "train", "Train a model on the host with the device's exact int8 kernels (sparse update, QAS), evaluate, save");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  o->scheme.Add(c);
  o->compile.Add(c);
  c->add_option("--data", o->data,
                "Training data: 'fmnist' (Debian's Fashion-MNIST: train split, evaluated on the test split), "
                "'folder:DIR' (DIR/train and DIR/val or DIR/test, one sub-folder per class), 'npy:FILE' with --labels "
                "(int8 samples in the model's input layout, or N x 3 x H x W images as q = p - 128), or 'mlperf:DIR' "
                "(MLPerf Tiny raw samples + y_labels.csv; evaluated on the same folder: split it with --train-samples N "
                "--eval-skip N)")
      ->capture_default_str();
  c->add_option("--raw", o->raw,
                "mlperf:DIR sample bytes: 'int8' (as stored), 'uint8' (8-bit images as q = p - 128) or 'auto' "
                "(uint8 when the model input has 3 channels)")
      ->capture_default_str();
  c->add_option("--labels", o->labels, "Labels .npy for --data npy:FILE");
  c->add_option("--eval-data", o->eval_data, "Evaluation data (default: the test/val split of --data)");
  c->add_option("--eval-labels", o->eval_labels, "Labels .npy for --eval-data npy:FILE");
  c->add_option("--classes", o->classes, "Class subset, e.g. '5-9' (labels follow the list order)");
  c->add_option("--train-samples", o->train_samples, "Use the first N training samples (-1 = all)")->capture_default_str();
  c->add_option("--eval-samples", o->eval_samples, "Use the first N evaluation samples (-1 = all)")->capture_default_str();
  c->add_option("--eval-split", o->eval_split,
                "Fashion-MNIST split to evaluate on: test, or train with --eval-skip for a validation split carved "
                "from the training images (e.g. --train-samples 10000 --eval-split train --eval-skip 10000)")
      ->capture_default_str();
  c->add_option("--eval-skip", o->eval_skip, "Skip the first N evaluation samples (then --eval-samples apply)")
      ->capture_default_str();
  c->add_option("--eval-transform", o->eval_transform, "Evaluation preprocessing: resize | center-crop")->capture_default_str();
  c->add_option("--presize", o->presize,
                "Resize every image to N x N first (bilinear, as Pillow), as if the dataset were stored at that size; "
                "augmentation and evaluation transform follow (0 = off; the reference stores Fashion-MNIST at 128x128)")
      ->capture_default_str();
  c->add_option("--epochs", o->epochs, "Epochs (the lr schedule spans them)")->capture_default_str();
  c->add_option("--steps", o->steps, "Stop after this many updates (-1 = all epochs)")->capture_default_str();
  c->add_option("--batch", o->batch, "Samples per update (gradient accumulation; 1 = the device's fused updates)")
      ->capture_default_str();
  c->add_option("--lr", o->lr, "Base learning rate per update")->capture_default_str();
  c->add_option("--warmup-epochs", o->warmup_epochs, "Linear warm-up from 0 (then cosine decay to 0)")->capture_default_str();
  c->add_flag("--no-augment", o->no_augment, "No augmentation (default: random resized crop, flip, colour jitter)");
  c->add_option("--jitter", o->jitter, "Colour-jitter strength of the augmentation")->capture_default_str();
  c->add_option("--crop-scale", o->crop_scale,
                "Smallest area fraction of the random resized crop (the crop covers U(MIN, 1) of the image; "
                "0.08 as timm / the reference)")
      ->capture_default_str();
  c->add_option("--eval-every", o->eval_every, "Evaluate every N epochs (and after the last)")->capture_default_str();
  c->add_flag("--eval-before", o->eval_before, "Also evaluate before training");
  c->add_option("--threads", o->threads,
                "Threads: evaluation, and the samples of a batch > 1 (the trained model does not depend on it: "
                "gradients are summed in sample order; batch 1 updates after every sample and runs on one thread)")
      ->capture_default_str();
  c->add_option("--out", o->out,
                "Write the trained model: .pkl (the fp32 head under 'tte_head', int8 classifier too) or, by the "
                ".tflite extension, a TFLite int8 model (docs/export.md)");
  c->add_option("--metrics", o->metrics, "Write per-epoch metrics as JSON lines (rewritten after every epoch)");
  c->add_option("--plot", o->plot, "Write the training curves as SVG");
  c->add_flag("--quiet", o->quiet, "No progress bars");
  c->add_option("--divergence-factor", o->divergence_factor,
                "Stop when the mean loss of the last 32 samples exceeds this many times max(ln(classes), the first "
                "loss) (a non-finite loss always stops the run; 0 = only that; docs/training.md)")
      ->capture_default_str();
  c->add_flag("--keep-last-good", o->keep_last_good,
              "If training diverges, still write --out: the state at the end of the last good epoch (the run fails)");
  c->callback([o, exit_code] { *exit_code = RunTrain(*o); });
}

}  // namespace tte::cli
