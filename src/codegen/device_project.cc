// The device pipeline shared by `tte codegen` and `tte mcu-run` (see device_project.h).
#include "codegen/device_project.h"

#include "memory/plan_checker.h"
#include "memory/sram.h"
#include "runtime/replay.h"

namespace tte::codegen {

Result<DeviceProgram> CompileDeviceProgram(const ir::Graph& model, const Scheme& scheme, const TrainOptions& options,
                                           int patch_grid, int64_t budget_bytes, int64_t reserve_bytes) {
  if (!options.fuse_updates)
    return Unsupported("the device runs batch 1 with every update fused into the backward; --no-reorder "
                       "(deferred updates through gradient buffers) is host-only");
  DeviceProgram d;
  TTE_ASSIGN_OR_RETURN(d.device, CompileForDevice(model, scheme, options, patch_grid));
  const Program& prog = d.device.compiled.program;
  d.patch_grid = d.device.compiled.patch.grid;
  TTE_RETURN_IF_ERROR(CheckDeviceTrainable(prog));
  TTE_RETURN_IF_ERROR(CheckPlan(prog, d.device.plan));
  AccountingOptions ao;
  ao.reserve_bytes = reserve_bytes;
  d.memory = AccountMemory(prog, d.device.plan, ao);
  if (budget_bytes >= 0) TTE_RETURN_IF_ERROR(CheckBudget(d.memory, budget_bytes));
  return d;
}

Result<SampleSet> TakeSamples(const Dataset& data, const DatasetSpec& spec, int n, const SampleFormat& format) {
  if (n < 1) return InvalidArgument("--samples: need at least 1 sample, got " + std::to_string(n));
  if (data.size() < static_cast<size_t>(n))
    return InvalidArgument("--samples " + std::to_string(n) + ": the dataset has only " + std::to_string(data.size()) +
                           " matching samples");
  SampleSet s;
  const size_t item = format.bytes();
  s.data.resize(item * n);
  for (int i = 0; i < n; ++i) {
    TTE_RETURN_IF_ERROR(data.Load(i, format, nullptr, 0, s.data.data() + item * i));
    s.labels.push_back(data.label(i));
  }
  std::string kind = spec.kind == "fmnist" ? "Fashion-MNIST " + spec.split + " split"
                     : spec.kind == "folder" ? "image folder " + spec.path
                                             : spec.kind + " " + spec.path;
  s.source = kind + ", classes " + (spec.classes.empty() ? "all" : spec.classes) + " (" +
             std::to_string(data.num_classes()) + "), the first " + std::to_string(n) + " samples, " +
             spec.eval_transform + " to " +
             (format.c == 3 && format.pixels == PixelQuant::kMinus128
                  ? std::to_string(format.w) + "x" + std::to_string(format.h)
                  : format.Describe());
  return s;
}

std::string CommandLine(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    const bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (!plain) {
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = q + "'";
    }
    out += (i ? " " : "") + a;
  }
  return out;
}

}  // namespace tte::codegen
