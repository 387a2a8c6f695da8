/*
 * mcu.h - tiny runtime API of the tte firmware harness (Cortex-M7 on QEMU mps2-an500).
 *
 * Adapted from ../shared/mcu-recipe/mcu.h (the "bare-metal Cortex-M7 under QEMU" recipe).
 * C99. On the MCU the functions live in startup.c / mcu.c. When this header is compiled for
 * any other target (the host build of the same sources), every function becomes a no-op
 * stub, so generated code can call mcu_mark()/mcu_report() unconditionally.
 *
 * Work counting, two ways (see firmware/README.md):
 *  - mcu_mark(id): a real, never-inlined function with one fixed address. The insncount
 *    plugin (firmware/tools/insncount.c, option mark=<address>) prints the exact number of
 *    executed instructions each time it runs. This is the preferred, exact method.
 *  - mcu_ticks(): CMSDK APB Timer0 (0x40000000), started free-running by Reset_Handler at the
 *    model's 25 MHz. With QEMU -icount shift=0 virtual time advances 1 ns per instruction,
 *    so 1 tick == 40 instructions and readings are reproducible. Without -icount, ticks
 *    follow host wall time.
 */
#ifndef TTE_FIRMWARE_MCU_H_
#define TTE_FIRMWARE_MCU_H_

#include <stdint.h>

#if defined(__arm__)

#define MCU_TIMER0_CTRL   (*(volatile uint32_t *)0x40000000u)
#define MCU_TIMER0_VALUE  (*(volatile uint32_t *)0x40000004u)
#define MCU_TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

#define MCU_TICK_HZ        25000000u /* APB timer clock in QEMU's model */
#define MCU_INSNS_PER_TICK 40u       /* only with -icount shift=0 */

/* Ticks since reset (32-bit down counter, wraps after ~171 G instructions). */
static inline uint32_t mcu_ticks(void) { return 0xFFFFFFFFu - MCU_TIMER0_VALUE; }

/* Marker for the insncount plugin; costs a few instructions. */
void mcu_mark(uint32_t id);

/* Peak stack use in bytes (the stack is painted at reset; the 32-byte MPU guard excluded). */
uint32_t mcu_stack_used(void);
uint32_t mcu_stack_size(void);
/* Heap bytes handed out by _sbrk so far (high-water mark; _sbrk never shrinks). */
uint32_t mcu_heap_used(void);
uint32_t mcu_heap_size(void);
/* Link-time RAM figures: the budget, and .data+.bss+heap+stack as placed by the linker. */
uint32_t mcu_ram_budget(void);
uint32_t mcu_ram_static(void);

/*
 * Print one parseable line on stdout (the values are read before printing):
 *   mcu: stack_used=712 stack_size=8192 heap_used=1700 heap_size=8192 ram_static=25088 ram_budget=262144
 * Note: newlib-nano allocates the stdout buffer (~1 KB) on the first printf; if nothing was
 * printed before this call, that allocation is not included in heap_used.
 */
void mcu_report(void);

#else /* host build of the same sources: no-op stubs */

static inline uint32_t mcu_ticks(void) { return 0; }
static inline void mcu_mark(uint32_t id) { (void)id; }
static inline uint32_t mcu_stack_used(void) { return 0; }
static inline uint32_t mcu_stack_size(void) { return 0; }
static inline uint32_t mcu_heap_used(void) { return 0; }
static inline uint32_t mcu_heap_size(void) { return 0; }
static inline uint32_t mcu_ram_budget(void) { return 0; }
static inline uint32_t mcu_ram_static(void) { return 0; }
static inline void mcu_report(void) {}

#endif

#endif /* TTE_FIRMWARE_MCU_H_ */
