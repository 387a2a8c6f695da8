/*
 * bigbuf.c - budget test program (from ../shared/mcu-recipe/bigbuf.c): 300 KB of static RAM.
 * Must not link under RAM_BUDGET=256K; links and runs under 320K. With -DBIG_CONST it instead
 * holds 1.5 MB of const data (flash): must not link under FLASH_BUDGET=1M, runs under 2M.
 */
#include <stdint.h>
#include <stdio.h>

#include "mcu.h"

#if defined(BIG_CONST)
static const uint8_t big[1536 * 1024] = {1, 2, 3};

int main(void)
{
    uint32_t s = 0;
    const volatile uint8_t *p = big;
    for (uint32_t i = 0; i < sizeof big; i++) s += p[i];
    printf("bigconst: %u bytes, sum=%lu\n", (unsigned)sizeof big, (unsigned long)s);
    mcu_report();
    return s == 6u ? 0 : 1;
}
#else
static uint8_t big[300 * 1024];

int main(void)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7u);
    for (uint32_t i = 0; i < sizeof big; i++) s += big[i];
    printf("bigbuf: %u bytes, sum=%lu\n", (unsigned)sizeof big, (unsigned long)s);
    mcu_report();
    return s == 39168000u ? 0 : 1;
}
#endif
