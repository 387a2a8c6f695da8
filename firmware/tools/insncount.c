/*
 * insncount.c - QEMU TCG plugin: exact count of executed guest instructions.
 * Copied unchanged in function from ../shared/mcu-recipe/insncount.c (the "bare-metal
 * Cortex-M7 under QEMU" recipe). Built for the HOST by firmware/CMakeLists.txt (target
 * tte_insncount -> insncount.so) or by firmware/Makefile.template (target `plugin`).
 *
 * Debian 12's QEMU 7.2 is built with plugin support but ships neither the
 * example plugins (libinsn.so) nor qemu-plugin.h, so the few API
 * declarations needed are written out below (plugin API version 1, as in
 * QEMU 7.x). Build:  gcc -O2 -shared -fPIC -fvisibility=hidden -o insncount.so insncount.c
 *
 * Use:  qemu-system-arm ... -plugin ./insncount.so[,mark=0xADDR][,mode=tb] -d plugin
 *   Output goes to QEMU's log (stderr; add -D file to redirect).
 *   mark=ADDR  address of a guest function (e.g. mcu_mark): each time it is
 *              executed the count so far and the delta since the previous
 *              mark are printed.
 *   mode=tb    count per translation block instead of per instruction:
 *              faster, but can over-count when a block is left early
 *              (faults, semihosting calls).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API v1 (subset) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_outs(const char *string);
#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;
/* ---- end of API subset ---- */

static uint64_t insns;      /* single vCPU: a plain counter is enough */
static uint64_t last_mark;
static uint64_t mark_addr;  /* 0: no marker */
static unsigned n_marks;
static bool per_tb;

static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu; (void)udata;
    char buf[128];
    snprintf(buf, sizeof buf, "insncount: mark %u insns=%" PRIu64 " delta=%" PRIu64 "\n",
             n_marks++, insns, insns - last_mark);
    last_mark = insns;
    qemu_plugin_outs(buf);
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (per_tb)
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        /* the marker callback is registered first: it sees the count before this insn */
        if (mark_addr && (qemu_plugin_insn_vaddr(insn) & ~1ull) == mark_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (!per_tb)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insns, 1);
    }
}

static void on_exit_cb(qemu_plugin_id_t id, void *udata)
{
    (void)id; (void)udata;
    char buf[96];
    snprintf(buf, sizeof buf, "insncount: total insns=%" PRIu64 "\n", insns);
    qemu_plugin_outs(buf);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mark=", 5) == 0)
            mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
        else if (strcmp(argv[i], "mode=tb") == 0)
            per_tb = true;
        else {
            fprintf(stderr, "insncount: unknown option '%s'\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
