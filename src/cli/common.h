// Shared pieces of the tte command-line tool: error reporting, a progress bar, and the option groups
// several subcommands use (model, dataset, scheme).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "compiler/scheme.h"
#include "core/progress.h"
#include "compiler/train_compiler.h"
#include "core/status.h"
#include "data/dataset.h"
#include "import/model_file.h"

namespace tte::cli {

// Prints "tte <cmd>: error: <message>" to stderr and returns the exit code (1; 2 for bad usage).
int Fail(const std::string& cmd, const Status& s);

using tte::Progress;

// --data / --raw / --classes / --max-samples / --split / --labels / --eval-transform / --presize
struct DataOptions {
  std::string data = "fmnist";  // fmnist[:DIR] | folder:DIR | npy:FILE | mlperf:DIR
  std::string labels;
  std::string raw = "auto";     // mlperf sample bytes: auto | int8 | uint8
  std::string split = "test";
  std::string classes;
  int64_t max_samples = -1;
  std::string eval_transform = "resize";
  int presize = 0;
  // with_max_samples = false: the command sets max_samples itself (tte codegen / mcu-run: --samples).
  void Add(CLI::App* app, const std::string& default_split, bool with_max_samples = true);
  Result<DatasetSpec> Spec() const;
  // The spec of other data with these options (--eval-data / --eval-labels): data, labels and sample count replaced.
  Result<DatasetSpec> SpecOf(const std::string& other_data, const std::string& other_labels, int64_t samples,
                             const std::string& other_split) const;
};

// --scheme / --scheme-name
struct SchemeOptions {
  std::string scheme = "full";
  std::string scheme_name;
  void Add(CLI::App* app);
  Result<Scheme> Load(const std::string& model_path) const;
};

// Options that shape the compiled training program: --store, --rounding, --no-qas, --momentum,
// --no-reorder, --no-inplace, --patches, --patch-split, --resolution, --seed.
// --patches takes N (an N x N grid, 0 = off) or, for commands that compile for the device through
// CompileForDevice (Add(app, /*device=*/true): codegen, mcu-run), "auto" (their default): every grid is
// planned and the one with the least SRAM wins. Options() puts N (0 for auto) into TrainOptions::patch_grid;
// PatchGrid() gives CompileForDevice's argument (-1 = auto).
struct CompileOptions {
  std::string store = "device";
  std::string rounding = "stochastic";
  bool no_qas = false;
  bool new_head = false;
  bool keep_classifier = false;
  float momentum = 0.0f;
  bool no_reorder = false;
  bool no_inplace = false;
  std::string patches = "0";
  int patch_split = -1;
  int resolution = 0;
  uint64_t seed = 0;
  bool device = false;
  void Add(CLI::App* app, bool device_command = false);
  Result<TrainOptions> Options(int num_classes) const;
  Result<int> PatchGrid() const;
};

// Imports a model file (.pkl or .tflite); resolution > 0 re-shapes a .pkl network for that input size.
Result<ImportedModel> LoadModelOrExplain(const std::string& path, int resolution = 0);
std::string FileStem(const std::string& path);
std::string HumanBytes(int64_t b);

}  // namespace tte::cli
