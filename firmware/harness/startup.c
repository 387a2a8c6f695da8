/*
 * startup.c - vector table, reset handler, MPU guards, fault report, heap and exit for tte
 * firmware on QEMU mps2-an500 (Cortex-M7, -mfpu=fpv5-sp-d16 -mfloat-abi=hard), with
 * newlib-nano + librdimon (semihosting) for stdio and exit(). The same file serves the other
 * boards of firmware/Makefile.template: mps2-an386 (M4) and mps2-an385 (M3, no FPU) as they are,
 * and the ARMv8-M boards mps2-an505 (M33) and mps3-an547 (M55), which run in the Secure state and
 * get a PMSAv8 MPU set-up, the MSPLIM stack limit and a SecureFault vector (MCU_ARMV8M below).
 *
 * Adapted from ../shared/mcu-recipe/startup.c (the "bare-metal Cortex-M7 under QEMU" recipe):
 * same boot sequence (FPU on, .data/.bss init, stack paint, Timer0 start, MPU guards, stdio),
 * same fault reporter (one line on stderr, exit status 3) and the same _exit via
 * SYS_EXIT_EXTENDED so main()'s exact return value becomes QEMU's exit status.
 * Changes: FPSCR/FPDSCR are set to 0 explicitly (IEEE round-to-nearest, no flush-to-zero), the
 * vector table is written without GNU range initializers (C99), fault_report is marked used,
 * and the reporting helpers moved to mcu.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "mcu.h"

int main(void);
void initialise_monitor_handles(void); /* librdimon: opens :tt for stdio */
void __libc_init_array(void);

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint8_t __heap_start[], __heap_end[];
extern uint32_t __stack_bottom[], __stack_top[];
extern uint8_t __ram_origin[], __ram_budget_end[], __flash_budget_end[];

/* ARMv8-M Mainline (Cortex-M33) and ARMv8.1-M Mainline (Cortex-M55). */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
#define MCU_ARMV8M 1
extern uint8_t __flash_origin[], __vectors_start[], __vectors_end[];
#endif

#define STACK_PAINT 0xC5C5C5C5u
/* FPSCR at reset: all 0 (IEEE) except, on ARMv8.1-M, LTPSIZE = 4 ("no tail predication", its reset
 * value): the low-overhead loop instruction LE faults (UsageFault INVSTATE) under any other LTPSIZE.
 * GCC 12 defines __ARM_ARCH_8M_MAIN__ (not 8_1M) for the Cortex-M55, hence the MVE test. */
#if defined(__ARM_ARCH_8_1M_MAIN__) || defined(__ARM_FEATURE_MVE)
#define MCU_FPSCR_RESET 0x00040000u
#else
#define MCU_FPSCR_RESET 0u
#endif
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_FPDSCR (*(volatile uint32_t *)0xE000EF3Cu)
#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR  (*(volatile uint32_t *)0xE000ED38u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define MPU_CTRL  (*(volatile uint32_t *)0xE000ED94u)
#define MPU_RNR   (*(volatile uint32_t *)0xE000ED98u)
#define MPU_RBAR  (*(volatile uint32_t *)0xE000ED9Cu)
#define MPU_RASR  (*(volatile uint32_t *)0xE000EDA0u) /* PMSAv7 */
#define MPU_RLAR  (*(volatile uint32_t *)0xE000EDA0u) /* PMSAv8: the same address */
#define MPU_MAIR0 (*(volatile uint32_t *)0xE000EDC0u) /* PMSAv8 */

/* ---- raw semihosting, usable even when the C library state is broken ---- */
static inline uint32_t sh_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
#define SYS_WRITE0        0x04u
#define SYS_EXIT          0x18u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_Stopped_ApplicationExit 0x20026u

static void sh_puts(const char *s) { sh_call(SYS_WRITE0, s); }

static void sh_puthex(const char *name, uint32_t v)
{
    char buf[24];
    int i = 0;
    while (*name) buf[i++] = *name++;
    buf[i++] = '0'; buf[i++] = 'x';
    for (int k = 7; k >= 0; k--) buf[i++] = "0123456789abcdef"[(v >> (4 * k)) & 15];
    buf[i++] = ' '; buf[i] = 0;
    sh_puts(buf);
}

/*
 * Process exit with a status code. SYS_EXIT_EXTENDED carries the code to
 * QEMU, which exits with it (plain SYS_EXIT on AArch32 only gives 0/1).
 */
__attribute__((noreturn)) void _exit(int status)
{
    uint32_t block[2] = { ADP_Stopped_ApplicationExit, (uint32_t)status };
    sh_call(SYS_EXIT_EXTENDED, block);
    for (;;) { } /* not reached under QEMU */
}

/* ---- heap: fixed region reserved by the linker script ---- */
static uint8_t *heap_brk = __heap_start;

void *_sbrk(ptrdiff_t incr)
{
    uint8_t *prev = heap_brk;
    if (incr < 0 || (size_t)(__heap_end - heap_brk) < (size_t)incr) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_brk += incr;
    return prev;
}

uint32_t mcu_heap_used(void) { return (uint32_t)(heap_brk - __heap_start); }
uint32_t mcu_heap_size(void) { return (uint32_t)(__heap_end - __heap_start); }
uint32_t mcu_stack_size(void) { return (uint32_t)((uint8_t *)__stack_top - (uint8_t *)__stack_bottom); }

/* The lowest 32 bytes of the stack are the MPU guard (never read them). */
#define STACK_GUARD_WORDS 8u

uint32_t mcu_stack_used(void)
{
    const uint32_t *p = __stack_bottom + STACK_GUARD_WORDS;
    while (p < __stack_top && *p == STACK_PAINT) p++;
    return (uint32_t)((uint8_t *)__stack_top - (const uint8_t *)p);
}

void __attribute__((noinline)) mcu_mark(uint32_t id)
{
    __asm__ volatile("" : : "r"(id) : "memory");
}

/* newlib's __libc_init_array calls these; no crti/crtn with -nostartfiles. */
void _init(void) {}
void _fini(void) {}

/*
 * ---- faults: print the stacked PC and fault status, exit with 3 ----
 * The handler reads the stacked pc/lr only if the exception frame is readable (stacking did not
 * fail and the frame is above the stack guard), then moves SP to the top of the stack before
 * calling C. Without that a stack overflow faults again inside the handler and QEMU stops with
 * "Lockup: can't escalate 3 to HardFault" (status 134). The program is over anyway.
 */
#define CFSR_STACKING_ERRORS 0x1010u /* MSTKERR (MemManage) | STKERR (BusFault) */
#define CFSR_STKOF 0x100000u          /* ARMv8-M UsageFault: the MSPLIM stack limit was hit */

__attribute__((used, noreturn)) void fault_report(uint32_t sp, uint32_t exc, uint32_t pc, uint32_t lr)
{
    uint32_t cfsr = SCB_CFSR;
    sh_puts("\n*** FAULT ");
    sh_puthex("exc=", exc);
    sh_puthex("pc=", pc);
    sh_puthex("lr=", lr);
    sh_puthex("sp=", sp);
    sh_puthex("CFSR=", cfsr);
    sh_puthex("HFSR=", SCB_HFSR);
    sh_puthex("MMFAR=", SCB_MMFAR);
    sh_puthex("BFAR=", SCB_BFAR);
    if ((cfsr & (CFSR_STACKING_ERRORS | CFSR_STKOF)) ||
        sp < (uint32_t)(uintptr_t)(__stack_bottom + STACK_GUARD_WORDS))
        sh_puts("stack-overflow (pc/lr unknown) ");
    sh_puts("\n");
    _exit(3);
}

__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "tst   lr, #4              \n"
        "ite   eq                  \n"
        "mrseq r0, msp             \n" /* r0 = sp at the fault (the frame) */
        "mrsne r0, psp             \n"
        "mrs   r1, ipsr            \n" /* r1 = exception number */
        "movs  r2, #0              \n" /* r2 = pc, r3 = lr: 0 when unknown */
        "movs  r3, #0              \n"
        "ldr   r12, =0xE000ED28    \n" /* CFSR */
        "ldr   r12, [r12]          \n"
        "tst   r12, #0x10          \n" /* MSTKERR: stacking failed, no frame */
        "bne   1f                  \n"
        "tst   r12, #0x1000        \n" /* STKERR */
        "bne   1f                  \n"
#if defined(MCU_ARMV8M)
        "tst   r12, #0x100000      \n" /* STKOF: the frame was not stacked (MSPLIM) */
        "bne   1f                  \n"
#endif
        "ldr   r12, =__stack_bottom\n"
        "add   r12, r12, #32       \n" /* frame must lie above the 32-byte guard */
        "cmp   r0, r12             \n"
        "blo   1f                  \n"
        "ldr   r2, [r0, #24]       \n"
        "ldr   r3, [r0, #20]       \n"
        "1:                        \n"
        "ldr   r12, =__stack_top   \n"
        "mov   sp, r12             \n"
        "b     fault_report        \n"
        ".ltorg                    \n");
}

void Default_Handler(void)
{
    sh_puts("\n*** unexpected interrupt\n");
    _exit(4);
}

#if defined(MCU_ARMV8M)
/*
 * ---- MPU guards (PMSAv8: Cortex-M33, Cortex-M55; the Secure MPU, as the program runs Secure) ----
 * PMSAv8 regions are [base, limit] ranges at 32-byte granularity that must not overlap, and have no
 * "no access" permission: the background map is switched off instead (PRIVDEFENA = 0), so every
 * address outside these regions faults, except the system space (0xE0000000 up: SCB, MPU, NVIC):
 *   0: FLASH budget                                            read-only
 *   1: RAM budget above the lowest 32 bytes of the stack       read/write, never executed
 *   2: peripherals 0x40000000-0x5FFFFFFF                       read/write, device memory
 *   3: the vector table, when it lies outside FLASH (AN547: ITCM) read-only
 * The 32-byte stack guard at the bottom of RAM lies in no region; MSPLIM (set by Reset_Handler) stops an
 * overflow before it even reaches the guard. Limits are rounded up to 32 bytes. Define MCU_NO_MPU to skip.
 */
static void mpu_region(uint32_t n, uint32_t base, uint32_t end, uint32_t ap, uint32_t xn, uint32_t attr)
{
    MPU_RNR = n;
    MPU_RBAR = (base & ~31u) | (ap << 1) | xn;                       /* SH = 0: non-shareable */
    MPU_RLAR = (((end + 31u) & ~31u) - 32u) | (attr << 1) | 1u;     /* inclusive limit, enable */
}

static void mpu_setup(void)
{
    MPU_MAIR0 = 0xFFu /* attribute 0: normal memory, write-back */ | (0x04u << 8) /* 1: device nGnRE */;
    mpu_region(0, (uint32_t)__flash_origin, (uint32_t)__flash_budget_end, 2 /* RO */, 0, 0);
    mpu_region(1, (uint32_t)(__stack_bottom + STACK_GUARD_WORDS), (uint32_t)__ram_budget_end, 0 /* RW */, 1, 0);
    mpu_region(2, 0x40000000u, 0x60000000u, 0 /* RW */, 1, 1);
    if (__vectors_start < __flash_origin || __vectors_start >= __flash_budget_end)
        mpu_region(3, (uint32_t)__vectors_start, (uint32_t)__vectors_end, 2 /* RO */, 0, 0);
    SCB_SHCSR |= (0xFu << 16);        /* separate MemManage/BusFault/UsageFault/SecureFault */
    MPU_CTRL = 1u;                    /* ENABLE; no background map (PRIVDEFENA = 0) */
    __asm__ volatile("dsb\n isb" ::: "memory");
}
#else
/*
 * ---- MPU guards (PMSAv7, implemented by QEMU's Cortex-M7) ----
 * QEMU backs far more memory than the budgets, lets code write to "flash", and turns accesses to
 * its unimplemented ranges (e.g. 0x01010000-0x1FFFFFFF, right below RAM) into silent no-ops, so
 * overruns would go unnoticed. These regions (a higher number wins) turn them into faults:
 *   0: 0x00000000 + 1 GB (flash, RAM, their mirrors, all reserved ranges)   no access
 *   1: FLASH budget (rounded up to 1/8 of a power of two)                   read-only
 *   2: RAM budget (rounded up to 1/8 of a power of two)                     read/write
 *   3: lowest 32 bytes of the stack (= 0x20000000, the stack is first)      no access
 * Peripherals (0x40000000 up) and the system region keep the default map (PRIVDEFENA).
 * Define MCU_NO_MPU to skip.
 */
static uint32_t log2_ceil(uint32_t v) { uint32_t k = 5; while ((1u << k) < v) k++; return k; }

static void mpu_region(uint32_t n, uint32_t base, uint32_t log2size, uint32_t srd, uint32_t ap, uint32_t xn)
{
    MPU_RNR = n;
    MPU_RBAR = base & ~31u;
    MPU_RASR = (xn << 28) | (ap << 24) | (1u << 17) /* C */ | ((srd & 0xFFu) << 8) |
               ((log2size - 1u) << 1) | 1u;
}

/* Region of `size` bytes at an aligned base: the next power of two, minus disabled subregions. */
static void mpu_budget_region(uint32_t n, uint32_t base, uint32_t size, uint32_t ap)
{
    uint32_t k = log2_ceil(size), sub = (1u << k) / 8u, srd = 0;
    if (k >= 8) /* subregions exist for regions of 256 bytes or more */
        for (uint32_t i = 0; i < 8; i++)
            if (i * sub >= size) srd |= 1u << i;
    mpu_region(n, base, k, srd, ap, 0);
}

static void mpu_setup(void)
{
    mpu_region(0, 0x00000000u, 30, 0, 0 /* none */, 1);
    mpu_budget_region(1, 0x00000000u, (uint32_t)__flash_budget_end, 6 /* RO */);
    mpu_budget_region(2, (uint32_t)__ram_origin, (uint32_t)(__ram_budget_end - __ram_origin), 3 /* RW */);
    mpu_region(3, (uint32_t)__stack_bottom, 5, 0, 0 /* none */, 1);
    SCB_SHCSR |= (7u << 16);          /* separate MemManage/BusFault/UsageFault */
    MPU_CTRL = (1u << 2) | 1u;        /* PRIVDEFENA | ENABLE */
    __asm__ volatile("dsb\n isb" ::: "memory");
}
#endif

/* ---- reset ---- */
__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* Grant full access to CP10/CP11 before any FP instruction runs. */
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n isb" ::: "memory");
    /* IEEE behaviour, as on the host: round to nearest even, no flush-to-zero, no default NaN.
     * QEMU resets FPSCR to 0 (LTPSIZE to 4 on ARMv8.1-M); set it (and FPDSCR, the FPSCR of
     * exception handlers) explicitly so real silicon and boot loaders cannot leave another mode
     * behind. */
    SCB_FPDSCR = MCU_FPSCR_RESET;
    __asm__ volatile("vmsr fpscr, %0" : : "r"(MCU_FPSCR_RESET));
#endif
#if defined(MCU_ARMV8M)
    /* Hardware stack limit: a push below the guard raises a UsageFault (STKOF) instead of writing. */
    __asm__ volatile("msr msplim, %0" : : "r"(__stack_bottom + STACK_GUARD_WORDS));
#endif
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;

    /* Paint the unused stack so mcu_stack_used() can report the peak. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; p < sp - 16;) *p++ = STACK_PAINT;

#if defined(MCU_BOARD_MPS3_AN547)
    MCU_SYSCNT_CNTCR = 1u; /* start the system counter (mcu_ticks(), see mcu.h) */
#else
    /* Free-running 32-bit down counter for work counting (see mcu.h). */
    MCU_TIMER0_CTRL = 0;
    MCU_TIMER0_RELOAD = 0xFFFFFFFFu;
    MCU_TIMER0_VALUE = 0xFFFFFFFFu;
    MCU_TIMER0_CTRL = 1;
#endif

#if !defined(MCU_NO_MPU)
    mpu_setup();
#endif
    initialise_monitor_handles();
    __libc_init_array();
    exit(main()); /* flushes stdio, then _exit(status) */
}

/* ---- vector table: initial SP, 15 system exceptions, 32 IRQs ---- */
typedef void (*vector_t)(void);
#define DH4 Default_Handler, Default_Handler, Default_Handler, Default_Handler
__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + 32] = {
    (vector_t)(uintptr_t)__stack_top,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
#if defined(MCU_ARMV8M)
    Fault_Handler, /* SecureFault */
    0, 0, 0,
#else
    0, 0, 0, 0,
#endif
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
    DH4, DH4, DH4, DH4, DH4, DH4, DH4, DH4, /* 32 external interrupts */
};
