/*
 * tte_flashsim.c - the simulated NOR flash of tte_flashsim.h: erase to 0xFF per page, program clears bits,
 * one unit of `align` bytes at a time (so a hook, or a power cut, can land between any two units).
 */
#include "tte_flashsim.h"

#include <string.h>

void tte_flashsim_init(tte_flashsim* f, uint8_t* mem, uint32_t size, uint32_t page_size, uint32_t align) {
  memset(f, 0, sizeof *f);
  f->mem = mem;
  f->size = size;
  f->page_size = page_size;
  f->align = align;
  memset(mem, 0xFF, size);
}

int tte_flashsim_erase(void* ctx, uint32_t addr) {
  tte_flashsim* f = (tte_flashsim*)ctx;
  if (f->page_size == 0 || addr % f->page_size != 0 || addr >= f->size || f->size - addr < f->page_size) return -1;
  memset(f->mem + addr, 0xFF, f->page_size);
  ++f->erases;
  if (f->hook) f->hook(f, addr, f->page_size);
  return 0;
}

int tte_flashsim_program(void* ctx, uint32_t addr, const void* src, uint32_t len) {
  tte_flashsim* f = (tte_flashsim*)ctx;
  const uint8_t* s = (const uint8_t*)src;
  if (f->align == 0 || addr % f->align != 0 || len % f->align != 0 || addr > f->size || f->size - addr < len)
    return -1;
  for (uint32_t u = 0; u < len; u += f->align) {
    for (uint32_t i = 0; i < f->align; ++i) f->mem[addr + u + i] &= s[u + i];
    ++f->programs;
    if (f->hook) f->hook(f, addr + u, f->align);
  }
  return 0;
}

int tte_flashsim_read(void* ctx, uint32_t addr, void* dst, uint32_t len) {
  tte_flashsim* f = (tte_flashsim*)ctx;
  if (addr > f->size || f->size - addr < len) return -1;
  memcpy(dst, f->mem + addr, len);
  return 0;
}
