#!/usr/bin/env bash
# budget_test.sh - CTest firmware_budget: the link-time memory budgets of firmware/Makefile.template.
#   1. firmware/tests/bigbuf.c (300 KB static buffer) must FAIL to link with RAM_BUDGET=256K, with GNU ld's
#      "region `RAM' overflowed by N bytes", and must link and run (exit 0) with RAM_BUDGET=320K.
#   2. the same file with -DBIG_CONST (1.5 MB const table) must FAIL with FLASH_BUDGET=1M
#      ("region `FLASH' overflowed") and link and run with FLASH_BUDGET=2M.
#
#   budget_test.sh FW_DIR WORK_DIR
set -u
fw=$1 work=$2
mkfile="$fw/Makefile.template"
fail() { echo "FAIL: $*"; exit 1; }

if ! tools="$(make -s --no-print-directory -f "$mkfile" check-tools 2>&1)"; then
  echo "$tools"
  fail "the firmware toolchain is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
fi

# must_not_link NAME REGION VAR=value...: the link fails and names the overflowing region
must_not_link() {
  local name=$1 region=$2; shift 2
  echo "== $name with $*: must FAIL to link"
  out="$(make --no-print-directory -f "$mkfile" NAME="$name" SRCS="$fw/tests/bigbuf.c" B="$work/$name" "$@" all 2>&1)"
  rc=$?
  echo "$out" | grep -E "overflowed|will not fit|Memory region|RAM:|FLASH:|LINK FAILED"
  [ $rc -ne 0 ] || fail "$name linked although it exceeds the budget"
  echo "$out" | grep -q "region \`$region' overflowed by [0-9]* bytes" ||
    fail "$name: no \"region \`$region' overflowed by N bytes\" message"
  echo "OK: link failed as expected: $(echo "$out" | grep -o "region \`$region' overflowed by [0-9]* bytes")"
}
# must_run NAME EXPECT VAR=value...: links, runs under QEMU, exits 0 and prints EXPECT
must_run() {
  local name=$1 expect=$2; shift 2
  echo "== $name with $*: must link and run"
  out="$("$fw/tools/run_firmware.sh" --no-count NAME="$name" SRCS="$fw/tests/bigbuf.c" B="$work/$name" "$@")"
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] || fail "$name exited with $rc"
  echo "$out" | grep -qF "$expect" || fail "$name: expected output '$expect' missing"
  echo "OK: $name ran"
}

must_not_link bigbuf-256K RAM RAM_BUDGET=256K
must_run bigbuf-320K "bigbuf: 307200 bytes, sum=39168000" RAM_BUDGET=320K
must_not_link bigconst-1M FLASH FLASH_BUDGET=1M DEFS=-DBIG_CONST
must_run bigconst-2M "bigconst: 1572864 bytes, sum=6" FLASH_BUDGET=2M DEFS=-DBIG_CONST
echo "PASS: RAM and FLASH budgets enforced at link time"
