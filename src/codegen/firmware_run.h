// Building and running a generated project: cross-compile with arm-none-eabi-gcc through its Makefile, run
// under QEMU (mps2-an500, or the board of the project's CPU) with the insncount plugin (tools/run_firmware.sh
// of the project), or build and run the same C on the host; parse what the harness and the tools print
// (project.h documents the lines).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tte::codegen {

struct StepLine {
  int step = -1;
  int label = -1;
  float loss = 0;
  uint32_t loss_bits = 0;
  uint64_t ticks = 0;
  bool skipped = false;  // the loss was not finite: the step updated nothing
  int64_t insns = -1;  // exact count from the plugin (mark 2i+1's delta), -1 when not counted
};

struct FirmwareRun {
  int exit_status = -1;        // run_firmware.sh: the program's status, 3 fault, 124 timeout, 125 build, 127 tool
  std::string output;          // everything printed, for error messages
  std::string build_log;       // BuildAndRunHost: the compiler's output (warnings)
  bool built = false;
  std::string elf;
  // link (fw: line of the Makefile and arm-none-eabi-size)
  int64_t ram_used = -1, ram_budget = -1, flash_used = -1, flash_budget = -1;
  int64_t text = -1, data = -1, bss = -1;
  int64_t sample_flash_bytes = -1;  // tte_samples + tte_labels (arm-none-eabi-nm -S)
  // harness
  std::vector<StepLine> steps;
  int64_t skipped_steps = 0;         // "skipped_steps=" (steps with a non-finite loss)
  bool has_checksum = false, has_initial_checksum = false;
  uint64_t checksum = 0, checksum_initial = 0;
  int64_t stack_used = -1, stack_size = -1, heap_used = -1, heap_size = -1, ram_static = -1;
  // plugin
  std::vector<int64_t> mark_deltas;  // by mark index
  int64_t total_insns = -1;
  std::string fault;                 // the "*** FAULT ..." line, if any
};

// Parses the output of tools/run_firmware.sh or of the host program (both may be partial). Unknown lines are
// ignored. Per-step instruction counts are taken from the mark deltas (mark 2i+1 = step i).
void ParseFirmwareOutput(const std::string& text, FirmwareRun* run);

struct FirmwareOptions {
  std::string project_dir;
  std::string build_dir;       // "" = <project>/build
  std::string plugin;          // insncount.so; "" = FindInsnCountPlugin
  int timeout_seconds = 600;
  bool count = true;           // exact instruction counts (the plugin)
};

// The QEMU plugin: `hint` if given (must exist), else the one CMake builds next to the tte binary
// (<dir of tte>/firmware/insncount.so), else "" (the project's Makefile builds it from tools/insncount.c with
// the host compiler). Fails with an explanation when none exists and no host C compiler is installed.
Result<std::string> FindInsnCountPlugin(const std::string& hint);

// Checks arm-none-eabi-gcc, newlib-nano and qemu-system-arm (the project's `make check-tools`).
Status CheckFirmwareTools(const std::string& project_dir);

// Cross-compiles, links against the RAM budget, runs under QEMU (with counts), reads the sizes. The result is
// returned whatever the program's exit status; only failures to start the tools are errors.
Result<FirmwareRun> BuildAndRunFirmware(const FirmwareOptions& options);

// `make host` in the project (host C compiler, -ffp-contract=off) and runs the program. `make_vars` are added
// to make's command line, e.g. "HOSTCC='cc -fsanitize=address,undefined' HOST_OPT=-O1".
Result<FirmwareRun> BuildAndRunHost(const std::string& project_dir, const std::string& build_dir = "",
                                    const std::string& make_vars = "");

// Runs a shell command, capturing stdout and stderr together; returns the exit status (128 + signal if killed).
int RunShell(const std::string& command, std::string* output);
std::string ShellQuote(const std::string& s);

}  // namespace tte::codegen
