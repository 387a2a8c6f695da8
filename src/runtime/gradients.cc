// Gradient computation for `tte grad` (see gradients.h).
#include "runtime/gradients.h"

#include <cstring>

#include "compiler/train_compiler.h"
#include "memory/planner.h"
#include "runtime/executor.h"

namespace tte {

Result<std::map<std::string, Tensor>> ComputeGradients(const GradientRequest& req) {
  const ir::Graph& m = *req.model;
  TrainOptions opt;
  opt.num_classes = req.num_classes > 0 ? req.num_classes : static_cast<int>(req.head_bias.size());
  // Gradients only: storage does not change them. Master keeps fp32 biases (the reference's); TFLite's integer
  // requantization reads int32 biases, so TFLite graphs keep the device's int8/int32 storage.
  opt.store = m.requant == ir::Requant::kTfliteInteger ? WeightStore::kDevice : WeightStore::kMaster;
  opt.fuse_updates = false;          // gradients land in buffers; the apply ops are never run
  opt.qas = false;
  opt.head_weight = req.head_weight;
  opt.head_bias = req.head_bias;
  opt.debug_overwrite_fanout = req.debug_overwrite_fanout;
  if (req.label < 0 || req.label >= opt.num_classes)
    return InvalidArgument("label " + std::to_string(req.label) + " is outside 0.." + std::to_string(opt.num_classes - 1));
  TTE_ASSIGN_OR_RETURN(CompiledTraining ct, CompileTraining(m, req.scheme, opt));
  Program& P = ct.program;
  TTE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(&P));
  TTE_ASSIGN_OR_RETURN(auto exec, Executor::Create(&P, plan.arena_bytes));
  std::memcpy(exec->input(), req.input, static_cast<size_t>(P.tensors[P.input].bytes()));
  exec->RunOps(0, ct.update_begin, req.label);

  std::map<std::string, Tensor> out;
  auto f32 = [&](int id) { return reinterpret_cast<const float*>(exec->Data(id)); };
  for (size_t i = 0; i < ct.view.layers.size(); ++i) {
    const ConvBinding& b = P.convs[i];
    const std::string key = "conv" + std::to_string(i);
    if (b.train_bias) out[key + ".bias"] = Tensor::From(DType::kFloat32, {b.cout}, f32(b.grad_b));
    if (b.train_weight) {
      const int kk = b.kk();
      Tensor w(DType::kFloat32, {b.cout, b.in_per_group(), b.kh, b.kw});
      float* dst = w.data<float>();
      const float* g = f32(b.grad_w);
      std::vector<uint16_t> sel(b.n_train);
      std::memcpy(sel.data(), P.tensors[b.sel].init.data(), sel.size() * 2);
      for (int j = 0; j < b.n_train; ++j)
        for (int e = 0; e < kk; ++e) {
          if (b.depthwise) {
            dst[static_cast<size_t>(sel[j]) * kk + e] = g[static_cast<size_t>(j) * kk + e];
          } else {
            for (int o = 0; o < b.cout; ++o)
              dst[(static_cast<size_t>(o) * b.in_per_group() + sel[j]) * kk + e] = g[(static_cast<size_t>(o) * b.n_train + j) * kk + e];
          }
        }
      out[key + ".weight"] = std::move(w);
    }
  }
  const HeadBinding& h = P.head;
  out["head.weight"] = Tensor::From(DType::kFloat32, {h.out, h.in}, f32(h.gW));
  out["head.bias"] = Tensor::From(DType::kFloat32, {h.out}, f32(h.gb));
  out["loss"] = Tensor::From(DType::kFloat32, {}, f32(P.loss));
  out["logits"] = Tensor::From(DType::kFloat32, {1, h.out}, f32(P.logits));
  return out;
}

}  // namespace tte
