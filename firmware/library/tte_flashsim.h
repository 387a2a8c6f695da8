/*
 * tte_flashsim.h - a simulated NOR flash for the host and QEMU builds of a tte training library.
 *
 * Memory-backed: erase sets a page to 0xFF, program can only clear bits (new = old & data, as NOR flash),
 * read copies. Addresses are offsets into the simulated device. An optional hook sees every erased page and
 * programmed unit (e.g. to mirror the device into a file). The callbacks match the PREFIX_flash struct of a
 * generated PREFIX_model.h; no heap, C99.
 */
#ifndef TTE_FLASHSIM_H_
#define TTE_FLASHSIM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tte_flashsim {
  uint8_t* mem;        /* size bytes, owned by the caller */
  uint32_t size;
  uint32_t page_size;  /* erase granularity */
  uint32_t align;      /* program granularity (address and length multiple of it) */
  /* Optional: called after each erased page (len = page_size) and each programmed unit (len = align). */
  void (*hook)(struct tte_flashsim* f, uint32_t addr, uint32_t len);
  void* hook_ctx;
  uint32_t erases, programs;  /* counts of erased pages and programmed units */
} tte_flashsim;

/* Initialises the simulation over `mem` (size bytes), fully erased (0xFF). */
void tte_flashsim_init(tte_flashsim* f, uint8_t* mem, uint32_t size, uint32_t page_size, uint32_t align);
/* The flash callbacks (ctx is the tte_flashsim*). Return 0 on success, -1 on a bad address or alignment. */
int tte_flashsim_erase(void* ctx, uint32_t addr);
int tte_flashsim_program(void* ctx, uint32_t addr, const void* src, uint32_t len);
int tte_flashsim_read(void* ctx, uint32_t addr, void* dst, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* TTE_FLASHSIM_H_ */
