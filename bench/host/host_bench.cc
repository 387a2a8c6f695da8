// The tte side of bench/host_vs_pytorch.py: `tte train`'s own Trainer timed on random samples held in memory.
//
// One process = one measurement of one configuration (model, scheme, batch, threads): the trainer is created
// as `tte train` creates it (device mode, stochastic rounding, QAS, a new head; fused updates at batch 1,
// gradient buffers and runtime/batch_workers.h threads above), trains one warm-up run, then
//   train: `--steps` updates of `--batch` samples; the time is the trainer's own compute time
//          (EpochMetrics::ms_per_sample x batch: forward, backward and update, not data loading);
//   infer: Trainer::Evaluate (what `tte eval` / the evaluation of `tte train` run) over `--infer` samples on
//          `--threads` threads; wall time per sample.
// Prints one JSON line. Samples are random int8 images of the model's input, random labels of 10 classes,
// loaded by a memcpy (the dataset pipeline is not measured; bench/host_vs_pytorch.py does not feed PyTorch
// from a loader either).
//
//   host_bench --model M.pkl --scheme schemes.json --scheme-name 49kb [--batch 1] [--threads 1]
//              [--steps 20] [--infer 50] [--seed 0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "compiler/scheme.h"
#include "data/dataset.h"
#include "import/model_file.h"
#include "runtime/trainer.h"

namespace tte {
namespace {

using Clock = std::chrono::steady_clock;

// n random samples of the model's input, labels 0..9.
class RandomDataset final : public Dataset {
 public:
  RandomDataset(size_t n, size_t bytes, uint32_t seed) : bytes_(bytes), pixels_(n * bytes), labels_(n) {
    std::mt19937 rng(seed);
    for (int8_t& v : pixels_) v = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
    for (int& l : labels_) l = std::uniform_int_distribution<int>(0, 9)(rng);
    for (int c = 0; c < 10; ++c) names_.push_back(std::to_string(c));
  }
  size_t size() const override { return labels_.size(); }
  int num_classes() const override { return 10; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int label(size_t i) const override { return labels_[i]; }
  Status Load(size_t i, const SampleFormat& f, const Augmenter*, uint64_t, int8_t* out) const override {
    if (f.bytes() != bytes_ || i >= labels_.size()) return InvalidArgument("random dataset: bad sample request");
    std::memcpy(out, pixels_.data() + i * bytes_, bytes_);
    return Status::Ok();
  }

 private:
  size_t bytes_;
  std::vector<int8_t> pixels_;
  std::vector<int> labels_;
  std::vector<std::string> names_;
};

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "host_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  return 1;
}

int Run(int argc, char** argv) {
  std::string model_path, scheme_path, scheme_name;
  int batch = 1, threads = 1, steps = 20, infer = 50;
  uint64_t seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--model") model_path = next();
    else if (a == "--scheme") scheme_path = next();
    else if (a == "--scheme-name") scheme_name = next();
    else if (a == "--batch") batch = std::atoi(next().c_str());
    else if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--steps") steps = std::atoi(next().c_str());
    else if (a == "--infer") infer = std::atoi(next().c_str());
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: host_bench --model M --scheme S [--scheme-name N] [--batch B] [--threads T] [--steps N] "
                   "[--infer N] [--seed S]\n");
      return 2;
    }
  }
  if (model_path.empty() || scheme_path.empty() || batch < 1 || threads < 1 || steps < 1 || infer < 1) {
    std::fprintf(stderr, "host_bench: --model and --scheme are required; batch, threads, steps, infer >= 1\n");
    return 2;
  }
  auto imported = ImportModel(model_path);
  if (!imported.ok()) return Fail(model_path, imported.status());
  const std::string model_name = std::filesystem::path(model_path).stem().string();
  auto scheme = scheme_name.empty() ? BuiltinScheme(scheme_path) : LoadScheme(scheme_path, scheme_name, model_name);
  if (!scheme.ok()) return Fail(scheme_path, scheme.status());
  TrainOptions options;  // tte train's defaults
  options.num_classes = 10;
  options.seed = seed;
  TrainerConfig cfg;
  cfg.epochs = 1;
  cfg.batch = batch;
  cfg.lr = 0.001f;
  cfg.augment = false;
  cfg.seed = seed;
  cfg.threads = threads;
  cfg.progress = false;
  cfg.divergence_factor = 0;  // random labels: only a non-finite loss would stop the run
  auto trainer = Trainer::Create(imported->graph, *scheme, options, cfg);
  if (!trainer.ok()) return Fail("trainer", trainer.status());
  const SampleFormat f = SampleFormatOf(imported->graph.input_spec);
  // Each Train call is one epoch of exactly `steps` batches (a first one warms up: caches, page faults).
  RandomDataset train_data(static_cast<size_t>(batch) * steps, f.bytes(), static_cast<uint32_t>(seed + 2));
  auto train_epoch = [&]() -> Result<double> {
    double ms = 0;
    Status st = (*trainer)->Train(train_data, nullptr, [&](const EpochMetrics& m) { ms = m.ms_per_sample * batch; });
    if (!st.ok()) return st;
    return ms;
  };
  auto warm = train_epoch();
  if (!warm.ok()) return Fail("warm-up", warm.status());
  auto step_ms = train_epoch();
  if (!step_ms.ok()) return Fail("train", step_ms.status());
  RandomDataset infer_data(static_cast<size_t>(infer), f.bytes(), static_cast<uint32_t>(seed + 3));
  auto t0 = Clock::now();
  auto acc = (*trainer)->Evaluate(infer_data);
  const double infer_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / infer;
  if (!acc.ok()) return Fail("inference", acc.status());
  std::printf(
      "{\"model\": \"%s\", \"scheme\": \"%s\", \"batch\": %d, \"threads\": %d, \"steps\": %d, \"infer_samples\": %d, "
      "\"train_ms_per_step\": %.4f, \"infer_ms_per_sample\": %.4f, \"arena_bytes\": %lld}\n",
      model_name.c_str(), (*trainer)->compiled().scheme.name.c_str(), batch, threads, steps, infer, *step_ms, infer_ms,
      static_cast<long long>((*trainer)->arena_bytes()));
  return 0;
}

}  // namespace
}  // namespace tte

int main(int argc, char** argv) { return tte::Run(argc, argv); }
