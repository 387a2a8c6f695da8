// QAS and the SGD step against the reference's SGDScale (../shared/golden_grad):
//  - our QAS divisors applied to the reference's own gradients give its QAS-scaled gradients bit for bit,
//    and fmaf(-lr, g, p) gives its parameters after the step bit for bit;
//  - our whole step (forward, backward, QAS, update) in master mode lands on the reference's parameters up
//    to the gradients' summation-order noise, with fused (reordered) and deferred updates bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "compiler/train_compiler.h"
#include "import/pkl/graph_from_model.h"
#include "core/npy.h"
#include "memory/planner.h"
#include "model/pkl_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tte {
namespace {

constexpr float kLr = 0.01f;

class QasGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(QasGolden, DivisorsAndStepAreBitExactOnReferenceGradients) {
  const std::string net = GetParam();
  TTE_REQUIRE_SHARED("golden_grad/" + net + "__rand__grad_qas.npz");
  auto model = LoadModel(testing::SharedPath("models/" + net + ".pkl"));
  auto grad = ReadNpz(testing::SharedPath("golden_grad/" + net + "__rand__grad.npz"));
  auto qas = ReadNpz(testing::SharedPath("golden_grad/" + net + "__rand__grad_qas.npz"));
  auto step = ReadNpz(testing::SharedPath("golden_grad/" + net + "__rand__grad_step.npz"));
  ASSERT_TRUE(model.ok() && grad.ok() && qas.ok() && step.ok());
  const auto convs = model->Convs();
  int tensors = 0;
  for (size_t i = 0; i < convs.size(); ++i) {
    const ConvLayer& c = *convs[i];
    std::vector<float> qw, qb;
    QasDivisors(c.eff, c.x_scale, c.y_scale, true, &qw, &qb);
    for (const char* kind : {"weight", "bias"}) {
      const std::string key = "conv" + std::to_string(i) + "." + kind;
      if (!qas->count(key)) continue;
      const Tensor& g = (*grad)[key];
      const Tensor& want_q = (*qas)[key];
      const Tensor& want_p = (*step)[key];
      const int64_t per = g.numel() / c.out_channels;
      int64_t bad_q = 0, bad_p = 0;
      for (int64_t e = 0; e < g.numel(); ++e) {
        const int o = static_cast<int>(e / per);
        const bool w = std::string(kind) == "weight";
        const float gq = g.data<float>()[e] / (w ? qw[o] : qb[o]);
        const float p0 = w ? static_cast<float>(c.weight[e]) : static_cast<float>(c.bias[e]);
        const float p1 = std::fmaf(-kLr, gq, p0);
        bad_q += std::memcmp(&gq, &want_q.data<float>()[e], 4) != 0;
        bad_p += std::memcmp(&p1, &want_p.data<float>()[e], 4) != 0;
      }
      EXPECT_EQ(bad_q, 0) << key << ": QAS-scaled gradient differs in " << bad_q << " elements";
      EXPECT_EQ(bad_p, 0) << key << ": stepped parameter differs in " << bad_p << " elements";
      ++tensors;
    }
  }
  EXPECT_GT(tensors, 20);
}

struct StepResult {
  std::map<std::string, std::vector<float>> params;
};

StepResult RunOneStep(const ir::Graph& m, const std::string& net, bool fused) {
  auto input = ReadNpy(testing::SharedPath("golden/input_rand_int8.npy"));
  auto hw = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_weight.npy"));
  auto hb = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_bias.npy"));
  TrainOptions opt;
  opt.num_classes = 10;
  opt.store = WeightStore::kMaster;
  opt.qas = true;
  opt.fuse_updates = fused;
  opt.head_weight.assign(hw->data<float>(), hw->data<float>() + hw->numel());
  opt.head_bias.assign(hb->data<float>(), hb->data<float>() + hb->numel());
  Scheme full;
  full.full_update = true;
  auto ct = CompileTraining(m, full, opt);
  EXPECT_TRUE(ct.ok()) << ct.status().ToString();
  Program& P = ct->program;
  auto plan = PlanMemory(&P);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  const int64_t arena = plan->arena_bytes;
  ExecutorOptions eo;
  eo.sgd.lr = kLr;
  auto exec = Executor::Create(&P, arena, eo);
  EXPECT_TRUE(exec.ok());
  std::memcpy((*exec)->input(), input->data<int8_t>(), static_cast<size_t>(input->numel()));
  (*exec)->Step(3);
  StepResult r;
  auto grab = [&](const std::string& key, int id) {
    const float* p = reinterpret_cast<const float*>((*exec)->Data(id));
    r.params[key].assign(p, p + P.tensors[id].numel());
  };
  for (const ConvBinding& b : P.convs) {
    if (b.train_bias) grab("conv" + std::to_string(b.index) + ".bias", b.bias_f32);
    if (b.train_weight) grab("conv" + std::to_string(b.index) + ".weight", b.w_master);
  }
  grab("head.weight", P.head.W);
  grab("head.bias", P.head.b);
  return r;
}

TEST_P(QasGolden, WholeStepMatchesReferenceAndReorderingChangesNothing) {
  const std::string net = GetParam();
  TTE_REQUIRE_SHARED("golden_grad/" + net + "__rand__grad_step.npz");
  auto model = LoadModel(testing::SharedPath("models/" + net + ".pkl"));
  auto step = ReadNpz(testing::SharedPath("golden_grad/" + net + "__rand__grad_step.npz"));
  ASSERT_TRUE(model.ok() && step.ok());
  auto graph = GraphFromModel(*model);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  StepResult fused = RunOneStep(*graph, net, true);
  StepResult deferred = RunOneStep(*graph, net, false);
  ASSERT_EQ(fused.params.size(), deferred.params.size());
  for (const auto& [key, v] : fused.params)
    EXPECT_EQ(0, std::memcmp(v.data(), deferred.params[key].data(), v.size() * 4)) << key << ": reordering changed the result";
  const auto convs = model->Convs();
  int compared = 0;
  for (const auto& [key, want] : *step) {
    if (key.rfind("loss", 0) == 0) continue;
    ASSERT_TRUE(fused.params.count(key)) << key;
    const std::vector<float>& got = fused.params[key];
    ASSERT_EQ(static_cast<int64_t>(got.size()), want.numel()) << key;
    // Compare the update (new - old) with the reference's, relative to its largest magnitude.
    std::vector<float> old(got.size());
    if (key.rfind("head", 0) == 0) {
      auto h = ReadNpy(testing::SharedPath("golden_grad/" + net + (key == "head.weight" ? "__head_weight.npy" : "__head_bias.npy")));
      std::memcpy(old.data(), h->data<float>(), old.size() * 4);
    } else {
      const ConvLayer& c = *convs[std::stoi(key.substr(4))];
      const bool w = key.find("weight") != std::string::npos;
      for (size_t e = 0; e < old.size(); ++e) old[e] = w ? static_cast<float>(c.weight[e]) : static_cast<float>(c.bias[e]);
    }
    double max_upd = 0, max_err = 0;
    for (size_t e = 0; e < got.size(); ++e) {
      max_upd = std::max(max_upd, std::fabs(static_cast<double>(want.data<float>()[e]) - old[e]));
      max_err = std::max(max_err, std::fabs(static_cast<double>(want.data<float>()[e]) - got[e]));
    }
    const double tol = key.find("weight") != std::string::npos && key.rfind("head", 0) != 0 ? 1e-3 : 1e-4;
    EXPECT_LE(max_err, tol * max_upd + 1e-6) << key << ": max error " << max_err << " vs max update " << max_upd;
    ++compared;
  }
  EXPECT_GT(compared, 20);
}

INSTANTIATE_TEST_SUITE_P(Models, QasGolden, ::testing::Values("mcunet-5fps", "mbv2-w0.35"), [](const auto& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});

}  // namespace
}  // namespace tte
