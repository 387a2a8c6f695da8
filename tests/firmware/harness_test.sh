#!/usr/bin/env bash
# harness_test.sh - CTest firmware_harness: the harness itself (firmware/tests/harness_smoke.c):
# exact exit status, the mcu_report() line, exact instruction counts at mcu_mark(), MPU faults for a
# write to flash, a write past the RAM budget, a stack overflow (exit status 3, not a QEMU lockup) and a
# write to a range QEMU leaves unimplemented, and the FPU mode at boot; then the same on the ARMv8-M boards
# (Cortex-M33 on mps2-an505, Cortex-M55 on mps3-an547: their memory maps, PMSAv8 MPU and MSPLIM stack limit).
#
#   harness_test.sh FW_DIR WORK_DIR [PLUGIN]
set -u
fw=$1 work=$2 plugin=${3:-}
fail() { echo "FAIL: $*"; exit 1; }
if ! tools="$(make -s --no-print-directory -f "$fw/Makefile.template" check-tools 2>&1)"; then
  echo "$tools"
  fail "the firmware toolchain is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
fi

# run_mode MODE EXPECTED_STATUS REGEX...: every REGEX must match a line of the runner's output (core: $CPU)
CPU=cortex-m7
run_mode() {
  local mode=$1 want=$2; shift 2
  local vars=(NAME="smoke$mode" SRCS="$fw/tests/harness_smoke.c" DEFS="-DSMOKE=$mode" B="$work/$CPU/smoke$mode" CPU="$CPU")
  [ -n "$plugin" ] && [ -f "$plugin" ] && vars+=(PLUGIN="$plugin")
  out="$("$fw/tools/run_firmware.sh" "${vars[@]}" 2>&1)"
  rc=$?
  echo "$out" | sed "s/^/[$CPU mode $mode] /"
  [ $rc -eq "$want" ] || fail "$CPU mode $mode: exit status $rc, expected $want"
  for re in "$@"; do echo "$out" | grep -Eq "$re" || fail "$CPU mode $mode: no line matching /$re/"; done
}

run_mode 0 7 '^mcu: stack_used=[0-9]+ stack_size=8192 heap_used=[0-9]+ heap_size=8192 ram_static=[0-9]+ ram_budget=262144$' \
  '^insncount: mark 1 insns=[0-9]+ delta=[0-9]+$' '^insncount: total insns=[0-9]+$' '^fw: exit=7$'
# the marked loop must cost the same on a second run (exact, deterministic counts)
d1="$(echo "$out" | awk '$1=="insncount:" && $3=="1"{print $5}')"
run_mode 0 7 >/dev/null
d2="$(echo "$out" | awk '$1=="insncount:" && $3=="1"{print $5}')"
[ -n "$d1" ] && [ "$d1" = "$d2" ] || fail "instruction count not reproducible: '$d1' vs '$d2'"
echo "OK: mark 1 $d1 on both runs"
run_mode 1 3 '^\*\*\* FAULT exc=0x00000004 .*MMFAR=0x0000'
run_mode 2 3 '^\*\*\* FAULT exc=0x00000004 .*MMFAR=0x2004'
run_mode 3 3 '^\*\*\* FAULT exc=0x0000000[45] .*stack-overflow'
run_mode 4 0 '^smoke: fpscr=0x00000000$'
run_mode 5 3 '^\*\*\* FAULT exc=0x00000004 .*MMFAR=0x01000000'

# ARMv8-M: FLASH and RAM at the Secure aliases (AN505: 0x10000000 / 0x38000000; AN547: QSPI 0x38000000 /
# DTCM 0x30000000); a stack overflow is a UsageFault (exc 6, STKOF) from the MSPLIM limit; 0x01000000 lies in
# no MPU region (no background map); the M55's FPSCR keeps LTPSIZE = 4 (bits 18:16, no tail predication).
for CPU in cortex-m33 cortex-m55; do
  case $CPU in
    cortex-m33) flash=0x1000 ram=0x3804 fpscr=0x00000000 ;;
    cortex-m55) flash=0x3800 ram=0x3004 fpscr=0x00040000 ;;
  esac
  run_mode 0 7 '^mcu: stack_used=[0-9]+ stack_size=8192 heap_used=[0-9]+ heap_size=8192 ram_static=[0-9]+ ram_budget=262144$' \
    '^insncount: mark 1 insns=[0-9]+ delta=[0-9]+$' '^fw: exit=7$'
  run_mode 1 3 "^\*\*\* FAULT exc=0x00000004 .*MMFAR=$flash"
  run_mode 2 3 "^\*\*\* FAULT exc=0x00000004 .*MMFAR=$ram"
  run_mode 3 3 '^\*\*\* FAULT exc=0x00000006 .*CFSR=0x00100000 .*stack-overflow'
  run_mode 4 0 "^smoke: fpscr=$fpscr\$"
  run_mode 5 3 '^\*\*\* FAULT exc=0x00000004 .*MMFAR=0x01000000'
done
echo "PASS: harness exit status, report line, instruction counts, MPU guards and FPU mode (M7, M33, M55)"
