// tte_oracle_fixtures OUT_DIR: writes the repository's own test graphs to disk for the PyTorch gradient oracle
// (tools/oracle/grad_oracle.py; driven by tests/oracle/oracle_test.py).
//
//   OUT_DIR/<graph>_<fp32|tflite>/  every op-kind graph (support/op_kind_graphs.h) in both requant modes:
//       graph.json, constants.npz   as `tte info --dump-graph` writes them (ir::GraphToJson, ir::GraphConstants)
//       x.npy                       a seeded random int8 input [1, C, H, W]
//       hw.npy, hb.npy, label.txt   a seeded fp32 head (uniform in +-1/sqrt(features), as the reference draws
//                                   it) and the label
//       tte/                        what `tte grad --scheme full` writes for them: ComputeGradients, the function
//                                   tte grad calls (conv{i}.weight.npy, ..., head.*.npy, loss.txt)
//   OUT_DIR/<tiny|feature|head>.tflite   the TFLite models of tests/import/tflite_builder.h, for the real CLI
// These graphs exist only in memory (no model file holds them), hence this writer. Exit 0, or 1 with a message.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/file_io.h"
#include "core/npy.h"
#include "import/tflite_builder.h"
#include "ir/serialize.h"
#include "runtime/gradients.h"
#include "support/grad_simulation.h"
#include "support/op_kind_graphs.h"

namespace tte {
namespace {

Status WriteCase(const ir::Graph& g, const std::string& dir, int label, uint64_t seed) {
  std::filesystem::create_directories(dir + "/tte");
  TTE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/graph.json", ir::GraphToJson(g).dump(1) + "\n"));
  TTE_RETURN_IF_ERROR(WriteNpz(dir + "/constants.npz", ir::GraphConstants(g)));
  const std::vector<int64_t>& chw = g.value(g.input).shape;
  std::mt19937_64 rng(seed);
  Tensor x(DType::kInt8, {1, chw[0], chw[1], chw[2]});
  for (auto& b : x.bytes) b = static_cast<uint8_t>(rng());
  const int head = testing::HeadNode(g);
  if (head < 0) return InvalidArgument(dir + ": the graph has no classifier");
  const ir::Node& hn = g.nodes[static_cast<size_t>(head)];
  const int64_t features = g.value(hn.inputs[0]).numel(), classes = g.value(hn.outputs[0]).numel();
  Tensor hw(DType::kFloat32, {classes, features}), hb(DType::kFloat32, {classes});
  const double bound = 1.0 / std::sqrt(static_cast<double>(features));
  std::uniform_real_distribution<double> u(-bound, bound);
  for (int64_t i = 0; i < hw.numel(); ++i) hw.data<float>()[i] = static_cast<float>(u(rng));
  for (int64_t i = 0; i < hb.numel(); ++i) hb.data<float>()[i] = static_cast<float>(u(rng));
  TTE_RETURN_IF_ERROR(WriteNpy(dir + "/x.npy", x));
  TTE_RETURN_IF_ERROR(WriteNpy(dir + "/hw.npy", hw));
  TTE_RETURN_IF_ERROR(WriteNpy(dir + "/hb.npy", hb));
  TTE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/label.txt", std::to_string(label) + "\n"));
  GradientRequest req;
  req.model = &g;
  req.scheme.name = "full";
  req.scheme.full_update = true;
  req.head_weight.assign(hw.data<float>(), hw.data<float>() + hw.numel());
  req.head_bias.assign(hb.data<float>(), hb.data<float>() + hb.numel());
  req.input = x.data<int8_t>();
  req.label = label;
  TTE_ASSIGN_OR_RETURN(auto grads, ComputeGradients(req));
  for (const auto& [key, t] : grads) {  // as tte grad writes them (src/cli/cmd_grad.cc)
    if (key == "logits") continue;
    if (key == "loss") {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g\n", static_cast<double>(t.data<float>()[0]));
      TTE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/tte/loss.txt", std::string(buf)));
      continue;
    }
    TTE_RETURN_IF_ERROR(WriteNpy(dir + "/tte/" + key + ".npy", t));
  }
  return Status::Ok();
}

int Run(const std::string& out) {
  int n = 0;
  for (const testing::OpKindGraph& c : testing::kOpKindGraphs)
    for (ir::Requant mode : {ir::Requant::kReferenceFp32, ir::Requant::kTfliteInteger}) {
      const ir::Graph g = c.make(mode);
      const std::string dir =
          out + "/" + c.name + (mode == ir::Requant::kTfliteInteger ? "_tflite" : "_fp32");
      Status st = WriteCase(g, dir, n % testing::kOpKindClasses, 1000 + static_cast<uint64_t>(n));
      if (!st.ok()) {
        std::fprintf(stderr, "tte_oracle_fixtures: %s\n", st.ToString().c_str());
        return 1;
      }
      ++n;
    }
  const std::pair<const char*, testing::ModelBuilder (*)()> models[] = {
      {"tiny", testing::TinyModel}, {"feature", testing::FeatureModel}, {"head", testing::HeadModel}};
  for (const auto& [name, make] : models) {
    Status st = WriteFileAtomic(out + "/" + name + ".tflite", make().Bytes());
    if (!st.ok()) {
      std::fprintf(stderr, "tte_oracle_fixtures: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::printf("wrote %d op-kind graphs and %zu TFLite models to %s\n", n, std::size(models), out.c_str());
  return 0;
}

}  // namespace
}  // namespace tte

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tte_oracle_fixtures OUT_DIR\n");
    return 1;
  }
  return tte::Run(argv[1]);
}
