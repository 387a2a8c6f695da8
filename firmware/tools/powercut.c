/*
 * powercut.c - QEMU TCG plugin: cuts the power (ends QEMU at once, no cleanup, status 42) when the guest has
 * executed exactly N instructions; also reports the count at each call of a mark function. For the power-loss
 * tests of the firmware training library (bench/power_loss.sh, tests/codegen/power_loss_test.sh).
 * Build: gcc -O2 -shared -fPIC -fvisibility=hidden -o powercut.so powercut.c
 * Use:   qemu-system-arm ... -plugin ./powercut.so,at=N[,mark=0xADDR] -d plugin
 *   at=N       _exit(42) right before instruction N+1 executes (N instructions done); 0 = never
 *   mark=ADDR  print "powercut: mark <i> insns=<count>" each time the function at ADDR is entered
 * The API subset is the one of insncount.c (QEMU 7.x, plugin API version 1).
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
#include <unistd.h>

static uint64_t insns, cut_at, mark_addr;
static unsigned n_marks;

static void on_insn(unsigned int vcpu, void *udata)
{
    (void)vcpu; (void)udata;
    if (cut_at && insns == cut_at) {
        char buf[96];
        snprintf(buf, sizeof buf, "powercut: power cut after %" PRIu64 " instructions\n", insns);
        qemu_plugin_outs(buf);
        _exit(42);
    }
    ++insns;
}

static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu; (void)udata;
    char buf[96];
    snprintf(buf, sizeof buf, "powercut: mark %u insns=%" PRIu64 "\n", n_marks++, insns);
    qemu_plugin_outs(buf);
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (mark_addr && (qemu_plugin_insn_vaddr(insn) & ~1ull) == mark_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

static void on_exit_cb(qemu_plugin_id_t id, void *udata)
{
    (void)id; (void)udata;
    char buf[96];
    snprintf(buf, sizeof buf, "powercut: total insns=%" PRIu64 "\n", insns);
    qemu_plugin_outs(buf);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "at=", 3) == 0)
            cut_at = strtoull(argv[i] + 3, NULL, 0);
        else if (strncmp(argv[i], "mark=", 5) == 0)
            mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
        else {
            fprintf(stderr, "powercut: unknown option '%s'\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
