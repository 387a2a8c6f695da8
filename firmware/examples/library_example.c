/*
 * library_example.c - the training library in a firmware, with data at run time (docs/firmware-library.md).
 *
 * Boot: the learned state comes back from flash (tte_restore); then every record of the semihosting file
 * "frames.bin" ([int32 label][TTE_INPUT_BYTES int8 frame], little-endian) is predicted, trained on (reusing the
 * forward pass) and the state saved once at the end. The flash is a NOR flash kept in the semihosting file
 * "flash.bin", so a second boot (a reboot) continues from the saved state. Prints, all parseable:
 *   boot status=<restore status> seq=<n> checksum=<16 hex>
 *   step=<i> label=<l> predicted=<p> status=<s> loss_bits=0x<8 hex>
 *   saved status=<s> seq=<n> checksum=<16 hex>
 * mcu_mark(2i) / mcu_mark(2i+1) bracket step i (predict + train: one forward, loss, backward), mcu_mark(2n) / (2n+1) the save (insncount plugin).
 * Build it with the generated library (prefix tte) and kernels, see docs/firmware-library.md.
 */
#include <stdio.h>
#include <string.h>

#include "mcu.h"
#include "tte_model.h"

/* ---- the flash: a NOR flash backed by the semihosting file "flash.bin" (no RAM copy: the state is large).
 * erase sets a page to 0xFF, program clears bits (new = old & data), read copies; every call reaches the file
 * before it returns. */
#define PAGE 2048u
#define ALIGN 8u
#define SLOT_PAGES ((TTE_STATE_BYTES + 32u + PAGE - 1u) / PAGE)
#define FLASH_BYTES (2u * SLOT_PAGES * PAGE)

static int file_erase(void* ctx, uint32_t addr) {
  static uint8_t ff[PAGE];
  memset(ff, 0xFF, sizeof ff);
  if (addr % PAGE != 0 || addr >= FLASH_BYTES) return -1;
  return fseek((FILE*)ctx, (long)addr, SEEK_SET) == 0 && fwrite(ff, 1, PAGE, (FILE*)ctx) == PAGE ? 0 : -1;
}

static int file_read(void* ctx, uint32_t addr, void* dst, uint32_t len) {
  if (addr > FLASH_BYTES || FLASH_BYTES - addr < len) return -1;
  return fseek((FILE*)ctx, (long)addr, SEEK_SET) == 0 && fread(dst, 1, len, (FILE*)ctx) == len ? 0 : -1;
}

static int file_program(void* ctx, uint32_t addr, const void* src, uint32_t len) {
  uint8_t buf[256];
  const uint8_t* s = (const uint8_t*)src;
  if (addr % ALIGN != 0 || len % ALIGN != 0 || addr > FLASH_BYTES || FLASH_BYTES - addr < len) return -1;
  for (uint32_t off = 0; off < len; off += (uint32_t)sizeof buf) {
    const uint32_t n = len - off < (uint32_t)sizeof buf ? len - off : (uint32_t)sizeof buf;
    if (file_read(ctx, addr + off, buf, n) != 0) return -1;
    for (uint32_t i = 0; i < n; ++i) buf[i] &= s[off + i];
    if (fseek((FILE*)ctx, (long)(addr + off), SEEK_SET) != 0 || fwrite(buf, 1, n, (FILE*)ctx) != n) return -1;
  }
  return 0;
}

static void print_hex64(const char* name, uint64_t h) {
  printf(" %s=%08lx%08lx", name, (unsigned long)(h >> 32), (unsigned long)(h & 0xffffffffu));
}

int main(void) {
  FILE* flash_file = fopen("flash.bin", "r+b");
  if (!flash_file) { /* first boot: an erased device */
    flash_file = fopen("flash.bin", "w+b");
    if (!flash_file) return 2;
    for (uint32_t a = 0; a < FLASH_BYTES; a += PAGE)
      if (file_erase(flash_file, a) != 0) return 2;
  }
  setvbuf(flash_file, NULL, _IONBF, 0);
  const tte_flash fl = {file_erase, file_program, file_read, flash_file, 0, PAGE, ALIGN};

  if (tte_init() != TTE_OK) return 3;
  const tte_status rs = tte_restore(&fl);
  printf("boot status=%d seq=%lu", (int)rs, (unsigned long)tte_sequence());
  print_hex64("checksum", tte_state_checksum());
  printf("\n");

  FILE* frames = fopen("frames.bin", "rb");
  if (!frames) return 4;
  uint32_t i = 0;
  for (;; ++i) {
    uint8_t lb[4];
    if (fread(lb, 1, 4, frames) != 4) break;
    const int32_t label = (int32_t)((uint32_t)lb[0] | ((uint32_t)lb[1] << 8) | ((uint32_t)lb[2] << 16) | ((uint32_t)lb[3] << 24));
    if (fread(tte_input(), 1, TTE_INPUT_BYTES, frames) != TTE_INPUT_BYTES) return 5;
    mcu_mark(2u * i);
    const int32_t predicted = tte_predict(NULL);
    const tte_status st = tte_train_step(label); /* reuses the forward pass of tte_predict */
    mcu_mark(2u * i + 1u);
    const float loss = tte_loss();
    uint32_t bits;
    memcpy(&bits, &loss, sizeof bits);
    printf("step=%lu label=%ld predicted=%ld status=%d loss_bits=0x%08lx\n", (unsigned long)i, (long)label,
           (long)predicted, (int)st, (unsigned long)bits);
  }
  fclose(frames);
  mcu_mark(2u * i);
  const tte_status ss = tte_save(&fl);
  mcu_mark(2u * i + 1u);
  printf("saved status=%d seq=%lu", (int)ss, (unsigned long)tte_sequence());
  print_hex64("checksum", tte_state_checksum());
  printf("\n");
  return ss == TTE_OK ? 0 : 6;
}
