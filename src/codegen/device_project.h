// The device pipeline shared by `tte codegen` and `tte mcu-run`: compile + plan for the device (automatic
// patch grid), check the plan, account SRAM/flash, refuse over budget, take N samples from a real dataset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "memory/device_compile.h"
#include "core/status.h"
#include "data/dataset.h"
#include "memory/sram.h"
#include "ir/graph.h"

namespace tte::codegen {

struct DeviceProgram {
  DeviceCompileResult device;  // compiled program (planned offsets written) and its plan
  MemoryReport memory;         // AccountMemory with the stack reserve
  int patch_grid = 0;          // the grid in use (0 = no patches)
};

// CompileForDevice (patch_grid -1 = automatic), then CheckDeviceTrainable, CheckPlan and AccountMemory with
// `reserve_bytes` of stack. If the planned peak exceeds `budget_bytes` (>= 0) it fails with kOutOfMemory and
// the message of CheckBudget (the overflow and the largest SRAM users) BEFORE anything is generated.
Result<DeviceProgram> CompileDeviceProgram(const ir::Graph& model, const Scheme& scheme, const TrainOptions& options,
                                           int patch_grid, int64_t budget_bytes, int64_t reserve_bytes);

struct SampleSet {
  std::vector<int8_t> data;     // N samples of the model input (int8 CHW, SampleFormat), back to back
  std::vector<int32_t> labels;  // as the dataset remaps them (class subsets: 0..K-1 in list order)
  std::string source;           // "Fashion-MNIST test split, classes 0-4, samples 0..9 of 5000"
};

// The first `n` samples of an opened dataset in the model's input format (deterministic eval transform).
Result<SampleSet> TakeSamples(const Dataset& data, const DatasetSpec& spec, int n, const SampleFormat& format);

// "a b 'c d'": a shell-quoted command line, for generated-file headers and reports.
std::string CommandLine(int argc, const char* const* argv);

}  // namespace tte::codegen
