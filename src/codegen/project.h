// A generated C99 firmware project: everything needed to build, run and count one training run on a
// Cortex-M7 (QEMU mps2-an500; other cores with ProjectConfig::cpu, see TargetCores()) or on the host, with no
// file of the tte source tree needed.
//
//   DIR/tte_model.c, tte_model.h    the training step (model_emitter.h)
//   DIR/tte_samples.c, tte_samples.h N training samples in flash, their labels, the learning rate and seed
//   DIR/main.c                      the harness: N steps, one parseable line per step, checksum, memory report
//   DIR/kernels/                    copy of the portable kernel library (src/kernels/*.c, tte_kernels.h)
//   DIR/harness/, DIR/tools/        copy of the firmware harness (firmware/harness, firmware/tools)
//   DIR/firmware.mk                 copy of firmware/Makefile.template
//   DIR/Makefile                    the project's defaults (sources, RAM budget, flash budget), then firmware.mk
//   DIR/tte_project.json            what was generated, from what, and the planned memory figures
//   DIR/README.md                   how to build, run and count
//
// main.c prints (stdout):
//   tte: steps=N classes=K resolution=R arena=A lr_bits=0x... rng_seed=S
//   checksum_initial=<16 hex digits>
//   step=<i> label=<l> loss=<%.6f> loss_bits=0x<8 hex digits> ticks=<Timer0 ticks of the step>
//   ...
//   checksum=<16 hex digits>
//   mcu: stack_used=... stack_size=... heap_used=... heap_size=... ram_static=... ram_budget=...
// and calls mcu_mark(2i) right before and mcu_mark(2i+1) right after step i: the insncount plugin numbers
// marks in call order, so its line "insncount: mark <2i+1> ... delta=<D>" is the exact instruction count of
// step i.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/model_emitter.h"
#include "compiler/program.h"
#include "core/status.h"
#include "memory/planner.h"

namespace tte::codegen {

struct ProjectConfig {
  ModelEmitInfo info;             // generated-by header, command, model, scheme, lr, rng seed
  std::vector<int8_t> samples;    // N inputs of the program's input size, back to back
  std::vector<int32_t> labels;    // N labels
  std::string samples_source;     // e.g. "Fashion-MNIST test split, classes 0-9, first 10 samples"
  int64_t ram_budget = 256 * 1024;
  std::string cpu = "cortex-m7";  // CPU of firmware.mk: one of TargetCores() (and its QEMU board)
  int64_t flash_budget = 0;       // 0: the smallest of 1, 2, 3, 4 MB that holds the estimated image
  int64_t stack_bytes = 8 * 1024;
  int64_t heap_bytes = 4 * 1024;  // newlib-nano's stdio takes 1,700 B (measured); the training step allocates nothing
  std::string manifest_extra;     // JSON object text merged into tte_project.json (planned figures), or ""
};

struct ProjectFile {
  std::string path;  // relative to the project directory
  std::string content;
  bool executable = false;
};

struct Project {
  std::vector<ProjectFile> files;
  EmittedModel model;
  int64_t sample_bytes = 0;     // tte_samples + tte_labels
  int64_t flash_budget = 0;     // FLASH_BUDGET of the Makefile
  int64_t flash_estimate = 0;   // const data + .data image + samples + code estimate
};

inline constexpr int64_t kQemuFlashBytes = 4 * 1024 * 1024;  // mps2-an500 backs 4 MB at 0x0

// The cores of firmware.mk's CPU variable and the QEMU board that emulates each (firmware/Makefile.template).
struct TargetCore {
  const char* cpu;        // firmware.mk CPU=, tte --cpu
  const char* board;      // QEMU -machine
  const char* features;   // FPU / DSP / vector extension, for --help and reports
  int64_t max_ram_bytes;  // the largest RAM region (= --budget) the board's linker script accepts
};
inline constexpr TargetCore kTargetCores[] = {
    {"cortex-m7", "mps2-an500", "FPv5-SP, DSP", 4 * 1024 * 1024},
    {"cortex-m4", "mps2-an386", "FPv4-SP, DSP", 4 * 1024 * 1024},
    {"cortex-m3", "mps2-an385", "no FPU, no DSP", 4 * 1024 * 1024},
    {"cortex-m33", "mps2-an505", "FPv5-SP, DSP", 4 * 1024 * 1024},      // SSRAM2+3, Secure alias
    {"cortex-m55", "mps3-an547", "FPv5-DP, DSP, Helium (MVE)", 512 * 1024},  // the DTCM
};
// nullptr if `cpu` is not one of kTargetCores.
const TargetCore* FindTargetCore(const std::string& cpu);

Result<Project> GenerateProject(const Program& prog, const MemoryPlan& plan, const ProjectConfig& config);

// Writes the project to `dir` atomically (a staging directory renamed into place). An existing `dir` is
// replaced only if it is empty or a previous tte project (it has tte_project.json); anything else is refused.
Status WriteProject(const Project& project, const std::string& dir);

}  // namespace tte::codegen
