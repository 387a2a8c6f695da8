/*
 * mcu.h - tiny runtime API of the tte firmware harness (Cortex-M7 on QEMU mps2-an500, and the
 * other boards of firmware/Makefile.template).
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
 *    follow host wall time. mps2-an505 (MCU_BOARD_MPS2_AN505, set by the Makefile): Timer0's
 *    Secure alias 0x50000000 at 20 MHz; mps3-an547 (MCU_BOARD_MPS3_AN547): the SSE-300 system
 *    counter at 32 MHz.
 */
#ifndef TTE_FIRMWARE_MCU_H_
#define TTE_FIRMWARE_MCU_H_

#include <stdint.h>

#if defined(__arm__)

#if (defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)) && \
    !defined(MCU_BOARD_MPS2_AN505) && !defined(MCU_BOARD_MPS3_AN547)
/* firmware/Makefile.template passes the board of CPU=cortex-m33 / cortex-m55 */
#error "mcu.h: ARMv8-M needs its board: -DMCU_BOARD_MPS2_AN505 (Cortex-M33) or -DMCU_BOARD_MPS3_AN547 (M55)"
#endif

#if defined(MCU_BOARD_MPS3_AN547)
/* SSE-300 system counter (64 bits, 32 MHz in QEMU's model): control frame (CNTCR.EN is set by
 * Reset_Handler) and the read-only status frame, Secure aliases. */
#define MCU_SYSCNT_CNTCR    (*(volatile uint32_t *)0x58100000u)
#define MCU_SYSCNT_CNTCV_LO (*(volatile uint32_t *)0x58101000u)
#define MCU_TICK_HZ        32000000u
#define MCU_INSNS_PER_TICK 31.25 /* only with -icount shift=0 */
/* Ticks since reset (low 32 bits of the up-counting system counter). */
static inline uint32_t mcu_ticks(void) { return MCU_SYSCNT_CNTCV_LO; }
#else
#if defined(MCU_BOARD_MPS2_AN505)
#define MCU_TIMER0_BASE 0x50000000u /* CMSDK APB Timer0, Secure alias */
#define MCU_TICK_HZ        20000000u
#define MCU_INSNS_PER_TICK 50u      /* only with -icount shift=0 */
#else
#define MCU_TIMER0_BASE 0x40000000u /* CMSDK APB Timer0 of the MPS2 boards */
#define MCU_TICK_HZ        25000000u /* APB timer clock in QEMU's model */
#define MCU_INSNS_PER_TICK 40u       /* only with -icount shift=0 */
#endif
#define MCU_TIMER0_CTRL   (*(volatile uint32_t *)(MCU_TIMER0_BASE + 0x0u))
#define MCU_TIMER0_VALUE  (*(volatile uint32_t *)(MCU_TIMER0_BASE + 0x4u))
#define MCU_TIMER0_RELOAD (*(volatile uint32_t *)(MCU_TIMER0_BASE + 0x8u))

/* Ticks since reset (32-bit down counter, wraps after ~171 G instructions). */
static inline uint32_t mcu_ticks(void) { return 0xFFFFFFFFu - MCU_TIMER0_VALUE; }
#endif

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
