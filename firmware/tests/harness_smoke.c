/*
 * harness_smoke.c - checks of the firmware harness itself (tests/firmware/harness_test.sh).
 * Build with -DSMOKE=<mode>:
 *   0  print the mcu_report() line, call mcu_mark() twice, return 7 (exit status must be 7)
 *   1  write to const data (flash is read-only via the MPU): MemManage fault, exit status 3
 *   2  write just past the RAM budget: MemManage fault, exit status 3
 *   3  unbounded recursion into the stack guard: fault, exit status 3
 *   4  read an FP register after boot: FPU enabled and FPSCR = 0 (round to nearest, no flush-to-zero)
 *   5  write to 0x01000000, a range QEMU leaves unimplemented (writes vanish) on mps2-an500, in no MPU
 *      region on the ARMv8-M boards: MemManage, exit 3
 */
#include <stdint.h>
#include <stdio.h>

#include "mcu.h"

#ifndef SMOKE
#define SMOKE 0
#endif

static const uint32_t table[4] = {1, 2, 3, 4};
extern uint8_t __ram_budget_end[];

static uint32_t __attribute__((noinline)) recurse(volatile uint32_t *p, uint32_t n)
{
    volatile uint32_t local[16];
    local[n & 15] = n + (p ? *p : 0);
    return recurse(local, n + 1) + local[0];
}

int main(void)
{
    printf("smoke: mode %d\n", SMOKE);
    fflush(stdout);
#if SMOKE == 0
    mcu_mark(0);
    volatile uint32_t x = 0;
    for (uint32_t i = 0; i < 1000; i++) x += i;
    mcu_mark(1);
    mcu_report();
    return x == 499500u ? 7 : 1;
#elif SMOKE == 1
    *(volatile uint32_t *)&table[1] = 5u;
    printf("smoke: write to flash was NOT caught\n");
    return 0;
#elif SMOKE == 2
    *(volatile uint32_t *)(__ram_budget_end + 4) = 5u;
    printf("smoke: write outside the RAM budget was NOT caught\n");
    return 0;
#elif SMOKE == 3
    printf("smoke: %lu\n", (unsigned long)recurse(0, 0));
    return 0;
#elif SMOKE == 4
    uint32_t fpscr;
    __asm__ volatile("vmrs %0, fpscr" : "=r"(fpscr));
    printf("smoke: fpscr=0x%08lx\n", (unsigned long)fpscr);
    return (fpscr & 0x07c00000u) == 0 ? 0 : 1; /* AHP, DN, FZ, RMode all 0 */
#elif SMOKE == 5
    *(volatile uint32_t *)0x01000000u = 5u;
    printf("smoke: write to an unimplemented range was NOT caught\n");
    return 0;
#endif
}
