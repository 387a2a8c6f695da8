// `tte codegen --target library`: the training step as a firmware library with a stable C API (issue 16).
//
// Writes (PREFIX defaults to "tte"; every public symbol and macro carries it, so two models link into one
// firmware):
//   DIR/PREFIX_model.h, PREFIX_model.c   the API: init, input (+ 8-bit pixel helper), predict, train_step with
//                                         a status, reset_learned, fingerprint/version, save/restore of the
//                                         learned state through a user flash interface (two slots, CRC-32)
//   DIR/kernels/                          the portable kernels (compile ONE copy per firmware, shared by models)
//   DIR/flashsim/tte_flashsim.h, .c       a RAM-backed NOR flash simulation for host and QEMU builds
//   DIR/README.md, tte_project.json       what was generated ("target": "library") and the planned figures
// No harness, no printf, no heap, C99, clean under -Wall -Wextra -Wconversion (host gcc and arm-none-eabi-gcc).
// docs/firmware-library.md is the integration guide; the state record format is documented in PREFIX_model.h.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/model_emitter.h"
#include "codegen/project.h"

namespace tte::codegen {

struct LibraryConfig {
  ModelEmitInfo info;
  std::string prefix = "tte";  // C identifier prefix: [a-z][a-z0-9_]*, at most 24 characters
  std::string manifest_extra;  // JSON object text merged into tte_project.json, or ""
};

struct Library {
  std::vector<ProjectFile> files;
  uint64_t fingerprint = 0;
  int64_t state_bytes = 0;   // the learned-state block (PREFIX_STATE_BYTES)
  int64_t arena_bytes = 0;
  int64_t flash_data_bytes = 0;
};

// The fingerprint of a program: FNV-1a 64 over its op codes, training settings and every flash and state
// tensor (name, dtype, shape, storage, initial bytes). A saved state carries it; restore refuses another.
uint64_t ProgramFingerprint(const Program& prog);

Result<Library> GenerateLibrary(const Program& prog, const MemoryPlan& plan, const LibraryConfig& config);

// Writes the library to `dir` (WriteProject's rules: atomic; an existing dir must be empty or a tte project).
Status WriteLibrary(const Library& lib, const std::string& dir);

}  // namespace tte::codegen
