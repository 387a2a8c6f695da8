/*
 * mcu.c - reporting helpers of the tte firmware harness: one parseable line with the stack
 * and heap high-water marks and the link-time RAM figures. C99, MCU only (see mcu.h for the
 * host stubs). The measurements themselves live in startup.c, next to the memory they watch.
 */
#include <stdio.h>

#include "mcu.h"

extern uint8_t __ram_origin[], __ram_budget_end[], __ram_used_end[];

uint32_t mcu_ram_budget(void) { return (uint32_t)(__ram_budget_end - __ram_origin); }

/* stack + .data + .bss + heap: everything the linker placed in RAM (see mps2_an500.ld). */
uint32_t mcu_ram_static(void) { return (uint32_t)(__ram_used_end - __ram_origin); }

void mcu_report(void)
{
    /* Read everything first, so the printf below does not measure itself. */
    unsigned long stack_used = mcu_stack_used(), stack_size = mcu_stack_size();
    unsigned long heap_used = mcu_heap_used(), heap_size = mcu_heap_size();
    unsigned long ram_static = mcu_ram_static(), ram_budget = mcu_ram_budget();
    printf("mcu: stack_used=%lu stack_size=%lu heap_used=%lu heap_size=%lu ram_static=%lu ram_budget=%lu\n",
           stack_used, stack_size, heap_used, heap_size, ram_static, ram_budget);
    fflush(stdout);
}
