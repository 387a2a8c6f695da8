/*
 * driver.c - exercises two generated training libraries (prefixes kws and vww, two tiny models) linked into one
 * program, on the host and under QEMU (tests/codegen/library_test.cc writes samples.h and builds it).
 *
 * Prints "step=<i> status=<s> loss_bits=0x<8 hex>" for kws training on the samples, "checksum=<16 hex>" after,
 * one "check <name> ok|FAIL" per property and "failures=<n>" last; exits with the number of failures.
 */
#include <stdio.h>
#include <string.h>

#include "kws_model.h"
#include "vww_model.h"
#include "flashsim/tte_flashsim.h"
#include "samples.h"

static int failures;
static void check(const char* name, int ok) {
  printf("check %s %s\n", name, ok ? "ok" : "FAIL");
  if (!ok) ++failures;
}

static void hex64(const char* name, uint64_t h) {
  printf("%s=%08lx%08lx\n", name, (unsigned long)(h >> 32), (unsigned long)(h & 0xffffffffu));
}

static uint8_t saved_state[KWS_STATE_BYTES];
static uint8_t flash_mem[4 * 4096];

static void frame(int i) { memcpy(kws_input(), samples[i], KWS_INPUT_BYTES); }

#ifdef WITH_CXX
int cxx_user_classes(void);
#endif

int main(void) {
#ifdef WITH_CXX
  check("c++ user links", cxx_user_classes() == 1 + KWS_NUM_CLASSES + VWW_NUM_CLASSES);
#endif
  check("init", kws_init() == KWS_OK && vww_init() == VWW_OK);
  check("fingerprints differ", kws_fingerprint() != vww_fingerprint());
  hex64("initial", kws_state_checksum());
  /* training, the reference run compared with the host replay */
  for (int i = 0; i < N_SAMPLES; ++i) {
    frame(i);
    const kws_status st = kws_train_step(labels[i]);
    const float loss = kws_loss();
    uint32_t bits;
    memcpy(&bits, &loss, sizeof bits);
    printf("step=%d status=%d loss_bits=0x%08lx\n", i, (int)st, (unsigned long)bits);
  }
  check("skipped steps counted", kws_skipped_steps() == 2);
  const uint64_t trained = kws_state_checksum();
  hex64("checksum", trained);

  /* a bad label changes nothing */
  memcpy(saved_state, kws_state(), KWS_STATE_BYTES);
  frame(0);
  check("bad label refused", kws_train_step(KWS_NUM_CLASSES) == KWS_BAD_LABEL && kws_train_step(-1) == KWS_BAD_LABEL);
  check("bad label leaves every byte", memcmp(saved_state, kws_state(), KWS_STATE_BYTES) == 0);
  /* a non-finite loss (label 0: the head's bias is {-3e38, 3e38, 0}) is detected before any byte changes */
  frame(0);
  check("non-finite loss refused", kws_train_step(0) == KWS_NONFINITE_LOSS);
  check("non-finite loss leaves every byte", memcmp(saved_state, kws_state(), KWS_STATE_BYTES) == 0);
  memcpy(saved_state, kws_state(), KWS_STATE_BYTES);
  frame(1);
  check("no input refused", kws_train_step(1) == KWS_OK && kws_train_step(1) == KWS_NO_INPUT &&
                                kws_predict(NULL) == -1);

  /* predict-then-train reuses the forward: same bits as training directly */
  kws_reset_learned();
  check("reset", kws_state_checksum() != trained);
  float scores[KWS_NUM_CLASSES];
  for (int i = 0; i < N_SAMPLES; ++i) {
    frame(i);
    const int32_t cls = kws_predict(scores);
    int32_t best = 0;
    for (int32_t k = 0; k < KWS_NUM_CLASSES; ++k)
      if (scores[k] > scores[best]) best = k;
    if (cls != best || kws_predict(NULL) != cls) check("predict", 0);
    kws_train_step(labels[i]);
  }
  check("predict then train = train", kws_state_checksum() == trained);

  /* pixels helper: a constant 8-bit frame gives the table's value everywhere */
  {
    static uint8_t px[KWS_INPUT_BYTES];
    memset(px, 200, sizeof px);
    kws_input_u8(px, 1);
    int same = 1;
    for (int i = 1; i < KWS_INPUT_BYTES; ++i) same &= kws_input()[i] == kws_input()[0];
    check("input_u8", same);
  }

  /* persistence: two slots, alternating, newest wins, foreign refused, corruption falls back */
  tte_flashsim sim;
  tte_flashsim_init(&sim, flash_mem, sizeof flash_mem, 1024, 8);
  const kws_flash fl = {tte_flashsim_erase, tte_flashsim_program, tte_flashsim_read, &sim, 0, 1024, 8};
  check("empty flash", kws_restore(&fl) == KWS_NO_STATE && kws_state_checksum() == trained);
  check("save 1", kws_save(&fl) == KWS_OK && kws_sequence() == 1);
  frame(1);
  kws_train_step(1);
  const uint64_t second = kws_state_checksum();
  check("save 2", kws_save(&fl) == KWS_OK && kws_sequence() == 2);
  kws_reset_learned();
  check("restore newest", kws_restore(&fl) == KWS_OK && kws_sequence() == 2 && kws_state_checksum() == second);
  flash_mem[kws_slot_bytes(&fl) + 40] ^= 0x01; /* slot 1 holds sequence 2 */
  check("corrupt newest -> previous", kws_restore(&fl) == KWS_OK && kws_sequence() == 1 &&
                                         kws_state_checksum() == trained);
  check("save after corruption", kws_save(&fl) == KWS_OK && kws_sequence() == 2);
  /* the other model's state in the same flash layout is refused, leaving ours */
  tte_flashsim sim2;
  static uint8_t flash2[4 * 4096];
  tte_flashsim_init(&sim2, flash2, sizeof flash2, 1024, 8);
  const vww_flash fl2 = {tte_flashsim_erase, tte_flashsim_program, tte_flashsim_read, &sim2, 0, 1024, 8};
  const kws_flash fl2k = {tte_flashsim_erase, tte_flashsim_program, tte_flashsim_read, &sim2, 0, 1024, 8};
  check("vww save", vww_save(&fl2) == VWW_OK);
  const uint64_t before = kws_state_checksum();
  check("foreign refused", kws_restore(&fl2k) == KWS_FOREIGN_STATE && kws_state_checksum() == before);
  check("bad flash parameters", kws_save(NULL) == KWS_FLASH_ERROR);
  printf("state_bytes=%d arena_bytes=%d slot_bytes=%lu\n", KWS_STATE_BYTES, KWS_ARENA_BYTES,
         (unsigned long)kws_slot_bytes(&fl));
  printf("failures=%d\n", failures);
  return failures;
}
