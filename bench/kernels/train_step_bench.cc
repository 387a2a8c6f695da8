// End-to-end A/B of the host kernels: milliseconds per training sample of mcunet-5fps under a sparse-update
// scheme (default sparse_100kb), portable kernels (A) vs the host dispatch (B), in one process.
//
// Two executors of the same compiled program train on the same random samples; rounds alternate the order
// (A B, B A, ...) so that drift of a noisy machine hits both alike. Reported: the median ms/sample of each,
// the ratio of the medians and the median of per-round ratios. At the end both executors have trained on
// the same sequence, so their whole persistent state (weights, biases, head, optimizer state) must be
// identical byte for byte: the run doubles as a long bit-exactness check. --profile adds a per-kernel
// breakdown (each op timed on its own) for both modes.
//
//   train_step_bench [--rounds 11] [--samples 40] [--scheme sparse_100kb] [--profile] [--in-place 0|1]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "compiler/scheme.h"
#include "compiler/train_compiler.h"
#include "kernels/host/host_kernels.h"
#include "memory/naive_plan.h"
#include "import/model_file.h"
#include "runtime/executor.h"

namespace tte {
namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this thread in ms: on a shared, loaded machine it excludes the time the thread waits for
// a core (wall time is reported too).
double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

std::string SharedDir() {
  const char* env = std::getenv("TTE_SHARED_DIR");
  return env ? env : TTE_BENCH_SHARED_DIR;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Sets TrainOptions::in_place where the compiler has it (in-place depthwise ops run the portable in-place
// kernels in the executor, not the host dispatch).
template <typename O>
bool SetInPlace(O* o, bool on) {
  if constexpr (requires { o->in_place; }) {
    o->in_place = on;
    return true;
  } else {
    return false;
  }
}

struct Sample {
  std::vector<int8_t> image;
  int label = 0;
};

// What a conv-related op is, for the profile.
std::string Category(const Program& P, const Op& op) {
  auto kind = [&]() -> std::string {
    const ConvBinding& b = P.convs[op.conv];
    if (b.depthwise) return "depthwise";
    if (b.kh == 1 && b.kw == 1) return "pointwise";
    return "dense";
  };
  switch (op.code) {
    case OpCode::kConv: return "conv forward " + kind();
    case OpCode::kConvBackwardInput: return "input gradient " + kind();
    case OpCode::kConvWeightGrad: return "weight gradient " + kind();
    case OpCode::kConvBiasGrad: return "bias gradient";
    default: return "other (" + std::string(OpCodeName(op.code)) + ")";
  }
}

uint64_t StateHash(const Program& P, const Executor& e) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < P.tensors.size(); ++i) {
    if (P.tensors[i].storage != Storage::kState) continue;
    const uint8_t* d = e.Data(static_cast<int>(i));
    for (int64_t j = 0; j < P.tensors[i].bytes(); ++j) h = (h ^ d[j]) * 1099511628211ull;
  }
  return h;
}

int Run(int argc, char** argv) {
  int rounds = 11, samples = 40, in_place = -1;
  bool profile = false;
  std::string scheme_name = "sparse_100kb", model_name = "mcunet-5fps";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--rounds") rounds = std::atoi(next().c_str());
    else if (a == "--samples") samples = std::atoi(next().c_str());
    else if (a == "--scheme") scheme_name = next();
    else if (a == "--model") model_name = next();
    else if (a == "--profile") profile = true;
    else if (a == "--in-place") in_place = std::atoi(next().c_str());
    else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--samples N] [--scheme NAME] [--model NAME] [--profile] [--in-place 0|1]\n", argv[0]);
      return 2;
    }
  }
  const std::string model_path = SharedDir() + "/models/" + model_name + ".pkl";
  auto imported = ImportModel(model_path);
  auto model = imported.ok() ? Result<ir::Graph>(imported->graph) : Result<ir::Graph>(imported.status());
  if (!model.ok()) {
    std::fprintf(stderr, "cannot load %s: %s (set TTE_SHARED_DIR)\n", model_path.c_str(), model.status().ToString().c_str());
    return 1;
  }
  auto scheme = LoadScheme(SharedDir() + "/reference/schemes.json", scheme_name, model_name);
  if (!scheme.ok()) scheme = BuiltinScheme(scheme_name);
  if (!scheme.ok()) {
    std::fprintf(stderr, "unknown scheme %s: %s\n", scheme_name.c_str(), scheme.status().ToString().c_str());
    return 1;
  }
  TrainOptions opts;  // the trainer's defaults: device mode, stochastic rounding, QAS, fused updates
  if (in_place >= 0 && !SetInPlace(&opts, in_place != 0)) std::fprintf(stderr, "note: this compiler has no in-place option\n");
  auto compiled = CompileTraining(*model, *scheme, opts);
  if (!compiled.ok()) {
    std::fprintf(stderr, "compile: %s\n", compiled.status().ToString().c_str());
    return 1;
  }
  Program& P = compiled->program;
  const int64_t arena = PlanNaive(&P);
  ExecutorOptions eo;
  eo.sgd.lr = 0.01f;
  eo.sgd.grad_scale = 1.0f;
  eo.rng_seed = 12345;
  auto portable = Executor::Create(&P, arena, eo);
  auto host = Executor::Create(&P, arena, eo);
  if (!portable.ok() || !host.ok()) {
    std::fprintf(stderr, "executor: %s\n", (portable.ok() ? host.status() : portable.status()).ToString().c_str());
    return 1;
  }
  const int R = P.resolution;
  std::mt19937 rng(7);
  std::vector<Sample> data(static_cast<size_t>(std::max(samples, 1)));
  for (Sample& s : data) {
    s.image.resize(static_cast<size_t>(3) * R * R);
    for (int8_t& v : s.image) v = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
    s.label = std::uniform_int_distribution<int>(0, 9)(rng);
  }
  struct Timing {
    double wall, cpu;  // ms per sample
  };
  auto train = [&](Executor* e, bool portable_only, int n) {
    host::SetPortableOnly(portable_only);
    const auto t0 = Clock::now();
    const double c0 = ThreadCpuMs();
    for (int s = 0; s < n; ++s) {
      const Sample& x = data[static_cast<size_t>(s) % data.size()];
      std::memcpy(e->input(), x.image.data(), x.image.size());
      e->Step(x.label);
    }
    const double cpu = ThreadCpuMs() - c0;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    host::SetPortableOnly(false);
    return Timing{ms / n, cpu / n};
  };

  std::printf("model %s, scheme %s, %d ops, resolution %d, host ISA %s, host scratch %lld bytes\n", model_name.c_str(),
              scheme->name.c_str(), static_cast<int>(P.ops.size()), R, host::HostIsa(),
              static_cast<long long>((*host)->host_scratch_bytes()));
  train(portable->get(), true, 3);  // warm-up (same number of steps on both: states stay comparable)
  train(host->get(), false, 3);
  std::vector<double> a, b, ratio, ac, bc, ratio_c;
  for (int r = 0; r < rounds; ++r) {
    Timing ta, tb;
    if (r % 2 == 0) {
      ta = train(portable->get(), true, samples);
      tb = train(host->get(), false, samples);
    } else {
      tb = train(host->get(), false, samples);
      ta = train(portable->get(), true, samples);
    }
    a.push_back(ta.wall);
    b.push_back(tb.wall);
    ratio.push_back(ta.wall / tb.wall);
    ac.push_back(ta.cpu);
    bc.push_back(tb.cpu);
    ratio_c.push_back(ta.cpu / tb.cpu);
    std::printf("round %2d: portable %7.3f ms/sample (cpu %7.3f)   host %7.3f ms/sample (cpu %7.3f)   ratio %5.2fx\n", r,
                ta.wall, ta.cpu, tb.wall, tb.cpu, ta.wall / tb.wall);
  }
  std::printf("\nmedian of %d alternating rounds x %d samples:\n", rounds, samples);
  std::printf("  wall: portable %.3f ms/sample, host %.3f ms/sample, ratio of medians %.2fx, median ratio %.2fx\n",
              Median(a), Median(b), Median(a) / Median(b), Median(ratio));
  std::printf("  cpu:  portable %.3f ms/sample, host %.3f ms/sample, ratio of medians %.2fx, median ratio %.2fx\n",
              Median(ac), Median(bc), Median(ac) / Median(bc), Median(ratio_c));
  const bool same = StateHash(P, **portable) == StateHash(P, **host);
  std::printf("  trained state after %d samples each: %s\n", 3 + rounds * samples,
              same ? "IDENTICAL (bit-exact)" : "DIFFERENT (host kernels are not bit-exact!)");

  if (profile) {
    // Per-op thread CPU times by category, medians over samples, for both modes.
    std::map<std::string, std::vector<double>> times[2];
    const int n = std::max(samples, 10);
    for (int mode = 0; mode < 2; ++mode) {
      Executor* e = mode == 0 ? portable->get() : host->get();
      host::SetPortableOnly(mode == 0);
      for (int s = 0; s < n; ++s) {
        const Sample& x = data[static_cast<size_t>(s) % data.size()];
        std::memcpy(e->input(), x.image.data(), x.image.size());
        std::map<std::string, double> sum;
        for (size_t i = 0; i < P.ops.size(); ++i) {
          const double t0 = ThreadCpuMs();
          e->RunOps(i, i + 1, x.label);
          sum[Category(P, P.ops[i])] += ThreadCpuMs() - t0;
        }
        for (const auto& [k, v] : sum) times[mode][k].push_back(v);
      }
      host::SetPortableOnly(false);
    }
    std::printf("\nprofile (median thread-CPU ms per sample over %d samples, each op timed on its own)\n", n);
    std::printf("  %-34s %10s %10s %8s\n", "kernel", "portable", "host", "speed-up");
    double ta = 0, tb = 0;
    for (const auto& [k, v] : times[0]) {
      const double pa = Median(v), pb = Median(times[1][k]);
      ta += pa;
      tb += pb;
      std::printf("  %-34s %10.3f %10.3f %7.2fx\n", k.c_str(), pa, pb, pa / pb);
    }
    std::printf("  %-34s %10.3f %10.3f %7.2fx\n", "sum", ta, tb, ta / tb);
  }
  return same ? 0 : 3;
}

}  // namespace
}  // namespace tte

int main(int argc, char** argv) { return tte::Run(argc, argv); }
