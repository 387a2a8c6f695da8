// SRAM and flash accounting of a planned Program (what a device running it holds), and the
// check against an SRAM budget.
//
// SRAM = arena (exactly the plan's size: activations, saved-for-backward tensors, masks, fp32 gradients,
//        logits, loss; named scratch tensors are inside it and shown as a separate line)
//      + kernel scratch outside the arena (none today: kernels only use fixed-size stack tiles, in the reserve)
//      + persistent state, split by role: trainable int8 weight slices (only the trained channels),
//        trainable biases (int32, device mode), fp32 master copies (master mode), momentum, gradient
//        buffers (only when updates are not fused, i.e. without operator reordering), the fp32 head
//      + a stack/runtime reserve (kStackReserveBytes).
// Flash = frozen weights (the untrained rows of split weights included), frozen biases, scales (eff, QAS
//        divisors), channel tables (slot/sel), anything else constant, the initial values of the SRAM state
//        that are not zero (the .data image a device copies to SRAM at start-up), and a code-size estimate.
// Roles come from the Program's bindings (ConvBinding/HeadBinding); tensors no binding names are counted
// under "other" so that every byte of the Program is accounted for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/program.h"
#include "core/status.h"
#include "memory/planner.h"

namespace tte {

// Stack/runtime reserve: the firmware harness's default STACK_SIZE (firmware/Makefile.template, 8 KB), which
// its linker script reserves in RAM and whose painted-stack high-water mark it reports ("mcu: stack_used=").
// Measured: the generated training programs peak at about 3.6 KB of stack (docs/mcu.md, all five configurations;
// most of it the kernels' fixed-size stack tiles, e.g. the padded depthwise window), so 8 KB is a safe reserve. The training step itself allocates nothing and needs no heap.
inline constexpr int64_t kStackReserveBytes = 8 * 1024;

// Code size of the kernel library (all of src/kernels/*.c) for the Cortex-M7, measured with
// arm-none-eabi-gcc 12.2.rel1 (Debian 12) by bench/kernel_code_size.sh, i.e.
//   for f in src/kernels/*.c; do arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16
//       -mfloat-abi=hard -O2 -ffp-contract=off -std=c99 -Isrc -c $f -o $(basename $f .c).o; done
//   arm-none-eabi-size -t *.o     ->  text 8528, data 0, bss 0  (kernels of commit 219b6ec)
// Re-run the script when the kernels change; it prints the new total next to this constant.
inline constexpr int64_t kKernelLibraryCodeBytes = 8528;
// Generated step code (src/codegen): the calls and the const parameter structs of the ops. Measured on
// `tte codegen` of mcunet-5fps/49kb (171 ops): tte_model.c's text minus its constant tables is 16,528 B,
// i.e. 97 B per op. Plus start-up code, vector table and the few C-library helpers a step uses.
inline constexpr int64_t kCodeBytesPerOp = 97;
inline constexpr int64_t kRuntimeCodeBytes = 2048;

struct MemoryItem {
  std::string name;
  int64_t bytes = 0;
};

struct MemoryReport {
  // SRAM
  int64_t arena_bytes = 0;
  int64_t arena_scratch_bytes = 0;     // named scratch tensors, most live at once (inside the arena)
  int64_t kernel_scratch_bytes = 0;    // scratch outside the arena
  int64_t trainable_weight_bytes = 0;  // int8 trainable weight slices
  int64_t trainable_bias_bytes = 0;    // int32 trainable biases (device mode)
  int64_t master_bytes = 0;            // fp32 master weights and biases (master mode)
  int64_t momentum_bytes = 0;          // SGD momentum (conv and head)
  int64_t gradient_buffer_bytes = 0;   // stored gradients (updates not fused)
  int64_t head_bytes = 0;              // fp32 head weight + bias
  int64_t other_state_bytes = 0;
  int64_t state_bytes = 0;             // sum of the state lines
  int64_t reserve_bytes = 0;
  int64_t peak_sram_bytes = 0;         // arena + kernel scratch + state + reserve
  int64_t trainable_sram_bytes = 0;    // everything training keeps in SRAM between steps (= state_bytes)
  // Arena composition at the peak op, by TensorKind.
  int64_t peak_live_by_kind[5] = {0, 0, 0, 0, 0};
  // Flash
  int64_t frozen_weight_bytes = 0;
  int64_t frozen_bias_bytes = 0;
  int64_t scale_bytes = 0;             // eff, QAS divisors
  int64_t table_bytes = 0;             // slot/sel channel tables
  int64_t other_flash_bytes = 0;
  int64_t state_init_bytes = 0;        // non-zero initial values of the SRAM state (.data image)
  int64_t code_bytes = 0;              // estimate: kernel library + per-op calls + runtime
  int64_t flash_bytes = 0;
  // The largest SRAM users: arena tensors live at the peak op, state tensors, the reserve; descending.
  std::vector<MemoryItem> largest;
};

struct AccountingOptions {
  int64_t reserve_bytes = kStackReserveBytes;
  int max_largest = 8;
};

MemoryReport AccountMemory(const Program& prog, const MemoryPlan& plan, const AccountingOptions& opt = {});

// OutOfMemory naming the overflow and the largest SRAM users when peak SRAM exceeds the budget; says so
// when the persistent state alone (trainable parameters etc.) cannot fit, whatever the arena plan.
Status CheckBudget(const MemoryReport& r, int64_t budget_bytes);

}  // namespace tte
