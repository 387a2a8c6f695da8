// Options and preparation shared by `tte codegen` and `tte mcu-run` (both in this pair of files' users):
// model, scheme, compile options (--patches auto by default), budget, samples from a real dataset, lr, seed.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/common.h"
#include "codegen/device_project.h"
#include "codegen/project.h"

namespace tte::cli {

// Exit codes of codegen and mcu-run (documented in their --help and docs/mcu.md).
enum DeviceExit {
  kExitOk = 0,
  kExitMismatch = 1,      // mcu-run: MCU and host disagree (checksum or a loss)
  kExitUsage = 2,         // bad command line (CLI11)
  kExitFault = 3,         // mcu-run: the firmware faulted in QEMU
  kExitBudget = 4,        // the planned peak SRAM exceeds --budget (nothing generated), or the image exceeds flash
  kExitBuild = 5,         // mcu-run: compile or link failed (e.g. the link-time RAM region overflowed)
  kExitTimeout = 6,       // mcu-run: QEMU did not finish within --timeout
  kExitTools = 7,         // mcu-run: arm-none-eabi-gcc, newlib, qemu-system-arm or the plugin missing
  kExitError = 8,         // anything else (model, scheme, dataset, I/O, the firmware's own exit status)
};

struct DeviceCmd {
  std::string model;
  SchemeOptions scheme;
  CompileOptions compile;
  std::string budget = "256KB";
  std::string reserve = "8K";
  int samples = 10;
  DataOptions data;  // the samples: --data, --labels, --split, --classes, --eval-transform, --presize
  float lr = 0.01f;
  int64_t rng_seed = -1;  // -1: derived from --seed as `tte train` does
  std::string cpu = "cortex-m7";  // the core (and its QEMU board) of the generated Makefile
  void Add(CLI::App* app);
};

struct PreparedDevice {
  ImportedModel model;
  codegen::DeviceProgram program;
  codegen::SampleSet samples;
  codegen::ProjectConfig config;
  std::string model_name, scheme_name;
  int64_t budget_bytes = 0, reserve_bytes = 0;
};

// Loads, compiles, plans, checks the budget (kOutOfMemory = refused) and takes the samples; writes nothing.
Result<PreparedDevice> PrepareDevice(const DeviceCmd& o);

// The exit code for a failed preparation: kExitBudget for kOutOfMemory, else kExitError.
int DeviceFail(const std::string& cmd, const Status& s);

// The tte command line of this process (from /proc/self/cmdline), for generated headers and reports.
std::string ThisCommandLine();

}  // namespace tte::cli
