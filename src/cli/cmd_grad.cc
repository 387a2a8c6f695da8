// `tte grad`: one forward + backward without any update; writes every computed gradient (fp32, in the
// integer domain, before QAS) as D/conv{i}.weight.npy (full OIHW shape: channels a scheme does not
// train are 0), D/conv{i}.bias.npy, D/head.weight.npy, D/head.bias.npy, and the loss as D/loss.txt.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "runtime/gradients.h"

namespace tte::cli {
namespace {

struct GradCmd {
  std::string model, input, head_weight, head_bias, output_dir;
  int label = 0;
  SchemeOptions scheme;
};

Result<std::vector<float>> ReadF32(const std::string& path, const char* what) {
  TTE_ASSIGN_OR_RETURN(Tensor t, ReadNpy(path));
  if (t.dtype != DType::kFloat32) return InvalidArgument(path + ": " + what + " must be float32, found " + DTypeName(t.dtype));
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

int RunGrad(const GradCmd& o) {
  auto m = LoadModelOrExplain(o.model);
  if (!m.ok()) return Fail("grad", m.status());
  auto s = o.scheme.Load(o.model);
  if (!s.ok()) return Fail("grad", s.status());
  auto hw = ReadF32(o.head_weight, "head weight");
  if (!hw.ok()) return Fail("grad", hw.status());
  auto hb = ReadF32(o.head_bias, "head bias");
  if (!hb.ok()) return Fail("grad", hb.status());
  auto x = LoadInferenceInputs({o.input}, SampleFormatOf(m->graph.input_spec));
  if (!x.ok()) return Fail("grad", x.status());
  if (x->shape[0] != 1)
    return Fail("grad", InvalidArgument(o.input + ": holds " + std::to_string(x->shape[0]) + " samples; tte grad takes one"));
  GradientRequest req;
  req.model = &m->graph;
  req.scheme = *s;
  req.head_weight = *hw;
  req.head_bias = *hb;
  req.input = x->data<int8_t>();
  req.label = o.label;
  auto grads = ComputeGradients(req);
  if (!grads.ok()) return Fail("grad", grads.status());
  auto dir = StagedDirectory::Create(o.output_dir);
  if (!dir.ok()) return Fail("grad", dir.status());
  int n = 0;
  for (const auto& [key, t] : *grads) {
    if (key == "logits") continue;
    if (key == "loss") {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g\n", static_cast<double>(t.data<float>()[0]));
      Status st = WriteFileAtomic(dir->Path("loss.txt"), std::string(buf));
      if (!st.ok()) return Fail("grad", st);
      continue;
    }
    Status st = WriteNpy(dir->Path(key + ".npy"), t);
    if (!st.ok()) return Fail("grad", st);
    ++n;
  }
  Status st = dir->Commit();
  if (!st.ok()) return Fail("grad", st);
  std::printf("loss %.6f; wrote %d gradient tensors to %s/\n", static_cast<double>((*grads)["loss"].data<float>()[0]), n,
              o.output_dir.c_str());
  return 0;
}

}  // namespace

void AddGradCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<GradCmd>();
  CLI::App* c = app.add_subcommand("grad", "One forward + backward, no update: write every computed gradient (fp32, before QAS)");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  o->scheme.Add(c);
  c->add_option("--input", o->input, "One input: int8 .npy (1 x 3 x R x R) or an image file")->required();
  c->add_option("--label", o->label, "Class label of the input")->required();
  c->add_option("--head-weight", o->head_weight, "fp32 .npy, the new head's weight (classes x features)")->required();
  c->add_option("--head-bias", o->head_bias, "fp32 .npy, the new head's bias (classes)")->required();
  c->add_option("--output-dir", o->output_dir, "Directory for conv{i}.weight.npy, conv{i}.bias.npy, head.*.npy, loss.txt")
      ->required();
  c->callback([o, exit_code] { *exit_code = RunGrad(*o); });
}

}  // namespace tte::cli
