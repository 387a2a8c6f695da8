/*
 * powerloss.c - power-loss firmware for the training library (bench/power_loss.sh, tests/codegen/power_loss.sh).
 *
 * The flash is tte_flashsim over RAM, mirrored unit by unit into the semihosting file "flash.bin" (each erased
 * page and each programmed unit is written through before the next starts), so killing QEMU at any instruction
 * leaves the file as a real flash would be after a power cut. Boot: load flash.bin (or start erased), init,
 * restore, print "restore status=<s> seq=<n> state=<FNV-1a 64 of the whole state block>". If the file "verify"
 * exists, stop there. Otherwise train SAVES rounds of one step on a deterministic frame and save after each,
 * printing "saved seq=<n> state=<hash>"; mcu_mark(2k) / mcu_mark(2k+1) bracket save k (k = 0..SAVES-1).
 */
#include <stdio.h>
#include <string.h>

#include "flashsim/tte_flashsim.h"
#include "kws_model.h"
#include "mcu.h"

#ifndef SAVES
#define SAVES 4
#endif
#define PAGE 1024u
#define ALIGN 8u

static uint8_t flash_mem[8 * PAGE];
static FILE* flash_file;

static void mirror(tte_flashsim* f, uint32_t addr, uint32_t len) {
  (void)f;
  fseek(flash_file, (long)addr, SEEK_SET);
  fwrite(flash_mem + addr, 1, len, flash_file);
}

static uint64_t state_hash(void) {
  const uint8_t* p = (const uint8_t*)kws_state();
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint32_t i = 0; i < KWS_STATE_BYTES; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static void print_hash(uint64_t h) { printf("%08lx%08lx", (unsigned long)(h >> 32), (unsigned long)(h & 0xffffffffu)); }

int main(void) {
  tte_flashsim sim;
  tte_flashsim_init(&sim, flash_mem, sizeof flash_mem, PAGE, ALIGN);
  flash_file = fopen("flash.bin", "r+b");
  if (flash_file) {
    if (fread(flash_mem, 1, sizeof flash_mem, flash_file) != sizeof flash_mem) {
      printf("flash.bin: short\n");
      return 2;
    }
  } else {
    flash_file = fopen("flash.bin", "w+b");
    if (!flash_file || fwrite(flash_mem, 1, sizeof flash_mem, flash_file) != sizeof flash_mem) {
      printf("flash.bin: cannot create\n");
      return 2;
    }
  }
  setvbuf(flash_file, NULL, _IONBF, 0);
  sim.hook = mirror;
  const kws_flash fl = {tte_flashsim_erase, tte_flashsim_program, tte_flashsim_read, &sim, 0, PAGE, ALIGN};
  if (2 * kws_slot_bytes(&fl) > sizeof flash_mem) {
    printf("flash too small: need %lu\n", (unsigned long)(2 * kws_slot_bytes(&fl)));
    return 2;
  }
  kws_init();
  const kws_status st = kws_restore(&fl);
  printf("restore status=%d seq=%lu state=", (int)st, (unsigned long)kws_sequence());
  print_hash(state_hash());
  printf("\n");
  FILE* v = fopen("verify", "rb");
  if (v) {
    fclose(v);
    return 0;
  }
  uint32_t x = 0x9e3779b9u;
  for (int k = 0; k < SAVES; ++k) {
    int8_t* in = kws_input();
    for (int i = 0; i < KWS_INPUT_BYTES; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      in[i] = (int8_t)(x >> 24);
    }
    kws_train_step(k % KWS_NUM_CLASSES);
    mcu_mark((uint32_t)(2 * k));
    const kws_status s = kws_save(&fl);
    mcu_mark((uint32_t)(2 * k + 1));
    printf("saved status=%d seq=%lu state=", (int)s, (unsigned long)kws_sequence());
    print_hash(state_hash());
    printf("\n");
  }
  return 0;
}
