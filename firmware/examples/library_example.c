/*
 * library_example.c - the training library in a firmware, with data at run time (docs/firmware-library.md).
 *
 * Boot: the learned state comes back from flash (tte_restore); then every record of the semihosting file
 * "frames.bin" ([int32 label][TTE_INPUT_BYTES int8 frame], little-endian) is predicted, trained on (reusing the
 * forward pass) and the state saved once at the end. The flash is tte_flashsim mirrored into "flash.bin", so a
 * second boot (a reboot) continues from the saved state. Prints, all parseable:
 *   boot status=<restore status> seq=<n> checksum=<16 hex>
 *   step=<i> label=<l> predicted=<p> status=<s> loss_bits=0x<8 hex>
 *   saved status=<s> seq=<n> checksum=<16 hex>
 * mcu_mark(2i) / mcu_mark(2i+1) bracket step i (predict + train: one forward, loss, backward), mcu_mark(2n) / (2n+1) the save (insncount plugin).
 * Build it with the generated library (prefix tte) and kernels, see docs/firmware-library.md.
 */
#include <stdio.h>
#include <string.h>

#include "flashsim/tte_flashsim.h"
#include "mcu.h"
#include "tte_model.h"

#define PAGE 2048u
#define ALIGN 8u
#define SLOT_PAGES ((TTE_STATE_BYTES + 32u + PAGE - 1u) / PAGE)

static uint8_t flash_mem[2u * SLOT_PAGES * PAGE];
static FILE* flash_file;

static void mirror(tte_flashsim* f, uint32_t addr, uint32_t len) {
  (void)f;
  fseek(flash_file, (long)addr, SEEK_SET);
  fwrite(flash_mem + addr, 1, len, flash_file);
}

static void print_hex64(const char* name, uint64_t h) {
  printf(" %s=%08lx%08lx", name, (unsigned long)(h >> 32), (unsigned long)(h & 0xffffffffu));
}

int main(void) {
  tte_flashsim sim;
  tte_flashsim_init(&sim, flash_mem, (uint32_t)sizeof flash_mem, PAGE, ALIGN);
  flash_file = fopen("flash.bin", "r+b");
  if (flash_file) {
    if (fread(flash_mem, 1, sizeof flash_mem, flash_file) != sizeof flash_mem) return 2;
  } else {
    flash_file = fopen("flash.bin", "w+b");
    if (!flash_file || fwrite(flash_mem, 1, sizeof flash_mem, flash_file) != sizeof flash_mem) return 2;
  }
  setvbuf(flash_file, NULL, _IONBF, 0);
  sim.hook = mirror;
  const tte_flash fl = {tte_flashsim_erase, tte_flashsim_program, tte_flashsim_read, &sim, 0, PAGE, ALIGN};

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
