// `tte infer`: int8 inference on .npy tensors or image files; writes the int8 logits of the model's own
// classifier as (N, classes) .npy, and optionally every stage's output (--dump DIR).
#include <cstdio>
#include <cstring>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "data/sample_format.h"
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
  // The model's own output: its final softmax included (TFLite's interpreter output), else the logits.
  auto session = InferenceSession::Create(m->graph, /*use_fp_head=*/false, /*softmax=*/true);
  if (!session.ok()) return Fail("infer", session.status());
  InferenceSession& s = **session;
  const SampleFormat format = SampleFormatOf(m->graph.input_spec);
  auto x = LoadInferenceInputs(o.inputs, format);
  if (!x.ok()) return Fail("infer", x.status());
  const int64_t n = x->shape[0], k = s.output_size(), per = s.input_bytes();
  Tensor logits(DType::kInt8, {n, k});
  std::map<std::string, Tensor> stages;
  for (int64_t i = 0; i < n; ++i) {
    s.Run(x->data<int8_t>() + i * per);
    std::memcpy(logits.data<int8_t>() + i * k, s.output(), static_cast<size_t>(k));
    if (!o.dump.empty()) {
      for (const auto& [name, id] : s.stages()) {
        const TensorInfo& t = s.tensor(id);
        // NHWC models (TFLite) get their outputs in their own layout: [C, H, W] -> (N, H, W, C)
        const bool hwc = format.file_nhwc && t.shape.size() == 3;
        Tensor& dst = stages[name];
        if (dst.shape.empty()) {
          dst = Tensor(t.dtype, {n});
          if (hwc) {
            dst.shape.insert(dst.shape.end(), {t.shape[1], t.shape[2], t.shape[0]});
          } else {
            for (int64_t d : t.shape) dst.shape.push_back(d);
          }
          dst.bytes.resize(static_cast<size_t>(n * t.bytes()));
        }
        uint8_t* at = dst.bytes.data() + i * t.bytes();
        if (hwc && t.dtype == DType::kInt8) {
          SampleFormat sf;
          sf.c = static_cast<int>(t.shape[0]), sf.h = static_cast<int>(t.shape[1]), sf.w = static_cast<int>(t.shape[2]);
          sf.file_nhwc = true;
          ChwToFileLayout(reinterpret_cast<const int8_t*>(s.data(id)), sf, reinterpret_cast<int8_t*>(at));
        } else {
          std::memcpy(at, s.data(id), static_cast<size_t>(t.bytes()));
        }
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
  std::fprintf(stderr, "wrote %s: int8 %s, shape (%lld, %lld)%s\n", o.output.c_str(),
               k == s.num_classes() && s.output() == s.logits() ? "logits" : "softmax output", static_cast<long long>(n),
               static_cast<long long>(k), o.dump.empty() ? "" : (", stage outputs in " + o.dump + "/").c_str());
  return 0;
}

}  // namespace

void AddInferCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<InferOptions>();
  CLI::App* c = app.add_subcommand(
      "infer",
      "Run int8 inference. Inputs: int8 .npy tensors of N samples in the model's input layout (NHWC for .tflite, "
      "N x 3 x R x R for .pkl), raw int8 sample files (MLPerf Tiny .bin), or PNG/JPEG/BMP images, resized to the "
      "input's H x W (bilinear, exactly as Pillow's Image.resize), grey copied to 3 channels (or RGB made grey for "
      "1-channel inputs), pixel p quantized with the input's scale and zero point (p - 128 for .pkl models and inputs "
      "of scale 1, the MLPerf Tiny convention).");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  c->add_option("--input", o->inputs, "Input .npy file(s) or image file(s)")->required();
  c->add_option("--output", o->output,
                "Output .npy: the model's int8 output, shape (N, classes): the logits of its classifier, or its final "
                "softmax when the model has one (TFLite)")
      ->required();
  c->add_option("--dump", o->dump,
                "Directory for every stage's int8 output: .pkl models as the reference names its dumps (first_conv, "
                "block_00.., feature_mix, avgpool, fc), each (N, C, H, W); other models one NN_<op>.npy per op in "
                "execution order, in the model's layout (NHWC for .tflite)");
  c->callback([o, exit_code] { *exit_code = RunInfer(*o); });
}

}  // namespace tte::cli
