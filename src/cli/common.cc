// Shared CLI pieces (see common.h).
#include "cli/common.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/file_io.h"
#include "model/pkl_io.h"

namespace tte::cli {

int Fail(const std::string& cmd, const Status& s) {
  std::fprintf(stderr, "tte %s: error: %s\n", cmd.c_str(), s.ToString().c_str());
  return 1;
}

void DataOptions::Add(CLI::App* app, const std::string& default_split, bool with_max_samples) {
  split = default_split;
  app->add_option("--data", data,
                  "Dataset: 'fmnist' (Debian's Fashion-MNIST), 'fmnist:DIR', 'folder:DIR' (DIR/<class>/<images>), "
                  "'npy:FILE' (int8 samples in the model's input layout, NHWC for .tflite, or N x 3 x H x W images "
                  "as q = p - 128; with --labels), or 'mlperf:DIR' (MLPerf Tiny raw samples + DIR/y_labels.csv)")
      ->capture_default_str();
  app->add_option("--raw", raw,
                  "mlperf:DIR sample bytes: 'int8' (fed as stored), 'uint8' (8-bit images, fed as q = p - 128, the "
                  "MLPerf Tiny convention) or 'auto' (uint8 when the model input has 3 channels)")
      ->capture_default_str();
  app->add_option("--labels", labels, "Labels .npy for --data npy:FILE (integers, shape N)");
  app->add_option("--split", split, "Fashion-MNIST split: train or test")->capture_default_str();
  app->add_option("--classes", classes, "Class subset, e.g. '0-4', '5,6,7', 'Sandal,Bag' (labels follow this order)");
  if (with_max_samples)
    app->add_option("--max-samples", max_samples, "Use only the first N matching samples (-1 = all)")->capture_default_str();
  app->add_option("--eval-transform", eval_transform,
                  "Preprocessing: 'resize' (image resized to R x R, bilinear as Pillow) or 'center-crop' "
                  "(resize to ceil(R/0.875), centre crop R: the reference's val transform)")
      ->capture_default_str();
  app->add_option("--presize", presize,
                  "Resize every image to N x N first (bilinear, as Pillow), as if the dataset were stored at that "
                  "size, then apply the transform (0 = off; the reference stores Fashion-MNIST at 128 x 128)")
      ->capture_default_str();
}

Result<DatasetSpec> DataOptions::SpecOf(const std::string& other_data, const std::string& other_labels,
                                        int64_t samples, const std::string& other_split) const {
  DataOptions e = *this;
  e.data = other_data;
  e.labels = other_labels;
  e.max_samples = samples;
  e.split = other_split;
  return e.Spec();
}

Result<DatasetSpec> DataOptions::Spec() const {
  DatasetSpec s;
  std::string kind = data, path;
  if (size_t c = data.find(':'); c != std::string::npos) {
    kind = data.substr(0, c);
    path = data.substr(c + 1);
  }
  if (kind != "fmnist" && kind != "folder" && kind != "npy" && kind != "mlperf")
    return InvalidArgument("--data: unknown kind '" + kind + "' (expected fmnist, folder:DIR, npy:FILE or mlperf:DIR)");
  if ((kind == "folder" || kind == "npy" || kind == "mlperf") && path.empty()) return InvalidArgument("--data " + kind + ": needs a path, e.g. " + kind + ":/path");
  s.kind = kind;
  s.path = path;
  s.labels_path = labels;
  s.raw = raw;
  s.split = split;
  s.classes = classes;
  s.max_samples = max_samples;
  s.eval_transform = eval_transform;
  s.presize = presize;
  return s;
}

void SchemeOptions::Add(CLI::App* app) {
  app->add_option("--scheme", scheme,
                  "Sparse-update scheme: a JSON file (the reference's keys, or tte's native form; see docs/schemes.md) "
                  "or a built-in: full, bias-only, head-only, last:N")
      ->capture_default_str();
  app->add_option("--scheme-name", scheme_name,
                  "Entry of a scheme collection such as ../shared/reference/schemes.json: NAME or MODEL/NAME");
}

Result<Scheme> SchemeOptions::Load(const std::string& model_path) const {
  if (!FileExists(scheme)) {
    if (scheme.find(".json") != std::string::npos) return NotFound("--scheme: " + scheme + ": no such file");
    return BuiltinScheme(scheme);
  }
  return LoadScheme(scheme, scheme_name, FileStem(model_path));
}

void CompileOptions::Add(CLI::App* app, bool device_command) {
  device = device_command;
  if (device) patches = "auto";
  app->add_flag("--new-head", new_head,
                "Start the fp32 head afresh (seeded random init) even when the model holds a tte-trained fp32 head for "
                "as many classes as the data has (by default training continues from it)");
  app->add_flag("--keep-classifier", keep_classifier,
                "Start the fp32 head from the model's own int8 classifier, dequantized, when it predicts as many classes "
                "as the data has: fine-tuning on the model's own task (by default the head starts afresh: a new task)");
  app->add_option("--store", store,
                  "Where trained parameters live: 'device' (int8 weights and int32 biases updated in place, no master "
                  "copy: what the MCU runs) or 'master' (fp32 master copies: the reference simulation)")
      ->capture_default_str();
  app->add_option("--rounding", rounding, "Device-mode rounding of updates: 'stochastic' or 'nearest' (half to even)")
      ->capture_default_str();
  app->add_flag("--no-qas", no_qas, "Plain SGD on the int8 parameters, without quantization-aware scaling");
  app->add_option("--momentum", momentum, "SGD momentum (0 = none; momentum needs an fp32 buffer per trained value)")
      ->capture_default_str();
  app->add_flag("--no-reorder", no_reorder,
                "Keep every gradient in a buffer and update at the end of the step (no operator reordering)");
  app->add_flag("--no-inplace", no_inplace, "Disable in-place execution (depthwise convs, residual adds, gradients)");
  app->add_option("--patches", patches,
                  std::string("Patch-based forward of the frozen prefix with an N x N grid of tiles (0 = off") +
                      (device ? "; auto = the grid with the least SRAM" : "") +
                      "): less memory, some recomputation, identical results")
      ->capture_default_str();
  app->add_option("--patch-split", patch_split, "Conv index ending the patch stage (default: the last frozen one possible)");
  app->add_option("--resolution", resolution, "Input resolution of a .pkl model (default: the model's own)");
  app->add_option("--seed", seed, "Seed of everything random: head initialisation, channel-selection ties, sample order, augmentation, stochastic rounding")->capture_default_str();
}

Result<TrainOptions> CompileOptions::Options(int num_classes) const {
  TrainOptions t;
  t.num_classes = num_classes;
  t.qas = !no_qas;
  t.momentum = momentum;
  t.fuse_updates = !no_reorder;
  t.in_place = !no_inplace;
  TTE_ASSIGN_OR_RETURN(const int grid, PatchGrid());
  t.patch_grid = grid < 0 ? 0 : grid;
  t.patch_split = patch_split;
  t.seed = seed;
  if (store == "device") t.store = WeightStore::kDevice;
  else if (store == "master") t.store = WeightStore::kMaster;
  else return InvalidArgument("--store: expected 'device' or 'master', got '" + store + "'");
  if (rounding == "stochastic") t.rounding = TTE_ROUND_STOCHASTIC;
  else if (rounding == "nearest") t.rounding = TTE_ROUND_NEAREST;
  else return InvalidArgument("--rounding: expected 'stochastic' or 'nearest', got '" + rounding + "'");
  return t;
}

Result<int> CompileOptions::PatchGrid() const {
  if (patches == "auto") {
    if (device) return -1;
    return InvalidArgument("--patches auto: only the device commands (codegen, mcu-run) choose the grid; "
                           "give N (0 = off), or see `tte plan --auto-patches`");
  }
  char* end = nullptr;
  const long v = std::strtol(patches.c_str(), &end, 10);
  if (patches.empty() || *end != '\0' || v < 0 || v > 64)
    return InvalidArgument("--patches: expected " + std::string(device ? "auto or " : "") +
                           "a grid size N >= 0 (0 = off), got '" + patches + "'");
  return static_cast<int>(v);
}

Result<ImportedModel> LoadModelOrExplain(const std::string& path, int resolution) {
  if (!FileExists(path)) return NotFound(path + ": no such model file");
  return ImportModel(path, resolution);
}

std::string FileStem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

std::string HumanBytes(int64_t b) {
  char buf[32];
  if (b >= 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f MB", b / (1024.0 * 1024.0));
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KB", b / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace tte::cli
