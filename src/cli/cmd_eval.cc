// `tte eval`: top-1 accuracy of a model on a labelled dataset, in parallel over threads, with a
// progress bar. A model trained by tte is evaluated with its fp32 head (--int8-head to use the int8
// classifier instead).
#include <atomic>
#include <mutex>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "runtime/inference.h"

namespace tte::cli {
namespace {

struct EvalOptions {
  std::string model;
  DataOptions data;
  int threads = 0;
  bool int8_head = false;
  bool json = false;
  int resolution = 0;
};

int RunEval(const EvalOptions& o) {
  auto m = LoadModelOrExplain(o.model, o.resolution);
  if (!m.ok()) return Fail("eval", m.status());
  auto spec = o.data.Spec();
  if (!spec.ok()) return Fail("eval", spec.status());
  auto ds = OpenDataset(*spec);
  if (!ds.ok()) return Fail("eval", ds.status());
  const Dataset& D = **ds;
  const ir::Graph& g = m->graph;
  const bool fp_head = g.fp_head.in > 0 && !o.int8_head;
  const int classes = fp_head ? g.fp_head.out : static_cast<int>(g.value(g.output).numel());
  if (D.num_classes() > classes)
    return Fail("eval", InvalidArgument("the dataset has " + std::to_string(D.num_classes()) + " classes but the model predicts " +
                                        std::to_string(classes)));
  int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(1, D.size())));
  std::vector<std::unique_ptr<InferenceSession>> sessions;
  for (int t = 0; t < threads; ++t) {
    // The int8 output as the model file defines it (a final softmax included): argmax ties then break as
    // they do for TFLite's own evaluation.
    auto s = InferenceSession::Create(g, fp_head, /*softmax=*/!fp_head);
    if (!s.ok()) return Fail("eval", s.status());
    sessions.push_back(std::move(*s));
  }
  const SampleFormat format = SampleFormatOf(g.input_spec);
  std::atomic<int64_t> next{0}, done{0}, correct{0};
  std::atomic<bool> failed{false};
  Status first_error;
  std::mutex err_mu;
  Progress bar("eval", static_cast<int64_t>(D.size()), !o.json);
  auto worker = [&](int t) {
    std::vector<int8_t> img(format.bytes());
    for (;;) {
      int64_t i = next++;
      if (i >= static_cast<int64_t>(D.size()) || failed) break;
      Status st = D.Load(static_cast<size_t>(i), format, nullptr, 0, img.data());
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!failed.exchange(true)) first_error = st;
        break;
      }
      sessions[t]->Run(img.data());
      if (sessions[t]->Predict() == D.label(static_cast<size_t>(i))) ++correct;
      ++done;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  std::atomic<bool> stop{false};
  std::thread monitor([&] {
    while (!stop) {
      int64_t d = done;
      char info[48];
      std::snprintf(info, sizeof info, "top-1 %.2f%%", d ? 100.0 * static_cast<double>(correct) / static_cast<double>(d) : 0.0);
      bar.Update(d, info);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  worker(0);
  for (auto& th : pool) th.join();
  stop = true;
  monitor.join();
  if (failed) return Fail("eval", first_error);
  const double acc = D.size() ? 100.0 * static_cast<double>(correct) / static_cast<double>(D.size()) : 0.0;
  char info[48];
  std::snprintf(info, sizeof info, "top-1 %.2f%%", acc);
  bar.Finish(info);
  if (o.json) {
    nlohmann::json j = {{"model", o.model}, {"samples", D.size()}, {"correct", correct.load()}, {"top1", acc},
                        {"head", fp_head ? "fp32" : "int8"}, {"input", format.Describe()}};
    if (format.c == 3 && format.h == format.w) j["resolution"] = format.h;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("top-1: %.2f%% (%lld / %zu correct, %s head, input %s)\n", acc, static_cast<long long>(correct.load()),
                D.size(), fp_head ? "fp32" : "int8", format.Describe().c_str());
  }
  return 0;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* c = app.add_subcommand("eval", "Top-1 accuracy of a model on a labelled dataset");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  o->data.Add(c, "test");
  c->add_option("--threads", o->threads, "Worker threads (default: all cores)");
  c->add_option("--resolution", o->resolution, "Input resolution (default: the model's own)");
  c->add_flag("--int8-head", o->int8_head, "For a model trained by tte: use the int8 classifier, not the fp32 head");
  c->add_flag("--json", o->json, "Print one JSON line instead of text");
  c->callback([o, exit_code] { *exit_code = RunEval(*o); });
}

}  // namespace tte::cli
