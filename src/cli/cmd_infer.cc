// `tte infer`: int8 inference on .npy tensors or image files; writes the int8 logits of the model's own
// classifier as (N, classes) .npy, and optionally every stage's output (--dump DIR).
#include <cstdio>
#include <cstring>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "runtime/inference.h"

namespace tte::cli {
namespace {

struct InferOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::string output;
  std::string dump;
};

int RunInfer(const InferOptions& o) {
  auto m = LoadModelOrExplain(o.model);
  if (!m.ok()) return Fail("infer", m.status());
  auto session = InferenceSession::Create(m->graph);
  if (!session.ok()) return Fail("infer", session.status());
  InferenceSession& s = **session;
  auto x = LoadInferenceInputs(o.inputs, s.resolution());
  if (!x.ok()) return Fail("infer", x.status());
  const int64_t n = x->shape[0], k = s.num_classes(), per = s.input_bytes();
  Tensor logits(DType::kInt8, {n, k});
  std::map<std::string, Tensor> stages;
  for (int64_t i = 0; i < n; ++i) {
    s.Run(x->data<int8_t>() + i * per);
    std::memcpy(logits.data<int8_t>() + i * k, s.logits(), static_cast<size_t>(k));
    if (!o.dump.empty()) {
      for (const auto& [name, id] : s.stages()) {
        const TensorInfo& t = s.tensor(id);
        Tensor& dst = stages[name];
        if (dst.shape.empty()) {
          dst = Tensor(DType::kInt8, {n});
          for (int64_t d : t.shape) dst.shape.push_back(d);
          dst.bytes.resize(static_cast<size_t>(n * t.bytes()));
        }
        std::memcpy(dst.bytes.data() + i * t.bytes(), s.data(id), static_cast<size_t>(t.bytes()));
      }
    }
    std::printf("%s: class %d\n", n == static_cast<int64_t>(o.inputs.size()) ? o.inputs[i].c_str() : ("sample " + std::to_string(i)).c_str(),
                s.Predict());
  }
  if (!o.dump.empty()) {
    auto dir = StagedDirectory::Create(o.dump);
    if (!dir.ok()) return Fail("infer", dir.status());
    for (const auto& [name, t] : stages) {
      Status st = WriteNpy(dir->Path(name + ".npy"), t);
      if (!st.ok()) return Fail("infer", st);
    }
    Status st = dir->Commit();
    if (!st.ok()) return Fail("infer", st);
  }
  Status st = WriteNpy(o.output, logits);
  if (!st.ok()) return Fail("infer", st);
  std::fprintf(stderr, "wrote %s: int8 logits, shape (%lld, %lld)%s\n", o.output.c_str(), static_cast<long long>(n),
               static_cast<long long>(k), o.dump.empty() ? "" : (", stage outputs in " + o.dump + "/").c_str());
  return 0;
}

}  // namespace

void AddInferCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<InferOptions>();
  CLI::App* c = app.add_subcommand(
      "infer",
      "Run int8 inference. Inputs: int8 NCHW .npy tensors (N x 3 x R x R), or PNG/JPEG/BMP images, which are resized "
      "to R x R (bilinear, exactly as Pillow's Image.resize), grey copied to 3 channels, pixel p stored as p - 128.");
  c->add_option("--model", o->model, "Model file (.pkl)")->required();
  c->add_option("--input", o->inputs, "Input .npy file(s) or image file(s)")->required();
  c->add_option("--output", o->output, "Output .npy: int8 logits of the model's classifier, shape (N, classes)")->required();
  c->add_option("--dump", o->dump,
                "Directory for every stage's int8 output (first_conv, block_00.., feature_mix, avgpool, fc), "
                "each (N, C, H, W), named as the reference's dumps");
  c->callback([o, exit_code] { *exit_code = RunInfer(*o); });
}

}  // namespace tte::cli
