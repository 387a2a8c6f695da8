#!/usr/bin/env bash
# run_firmware.sh - build + run + exact instruction count of one tte firmware program, in one command.
#
#   firmware/tools/run_firmware.sh [--no-count] [--build-only] [-f MAKEFILE] [VAR=value ...]
#
# VAR=value pairs go to make (firmware/Makefile.template by default): NAME, SRCS, INCLUDES, DEFS, B,
# RAM_BUDGET, FLASH_BUDGET, STACK_SIZE, HEAP_SIZE, OPT, TIMEOUT, PLUGIN, ... e.g.
#   firmware/tools/run_firmware.sh NAME=demo SRCS="demo.c kernels.c" INCLUDES=src/kernels B=/tmp/demo
#
# Output (stdout, one stream, easy to parse):
#   fw: build=ok elf=<path>                 (or fw: build=failed + the compiler/linker output, exit 125)
#   fw: ram_used=... ram_budget=... flash_used=... flash_budget=...
#   <the program's stdout>
#   <QEMU's stderr, e.g. "*** FAULT exc=0x00000004 pc=...">
#   insncount: mark <i> insns=<n> delta=<n>  (one per mcu_mark() call; absent with --no-count)
#   insncount: total insns=<n>
#   fw: exit=<status>
# Paths must not contain spaces (the QEMU command line is passed as a plain word list).
# Exit status: the program's (main()'s return value, 3 on a fault, 124 on timeout), 125 if the
# build failed, 127 if a tool is missing.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
makefile="$here/../Makefile.template"
count=1
build_only=0
vars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-count) count=0 ;;
    --build-only) build_only=1 ;;
    -f) makefile="$2"; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *=*) vars+=("$1") ;;
    *) echo "fw: unknown argument '$1' (expected VAR=value, --no-count, --build-only, -f MAKEFILE)"; exit 2 ;;
  esac
  shift
done

mk() { make --no-print-directory -f "$makefile" "${vars[@]}" "$@"; }

if ! tools_out="$(mk -s check-tools 2>&1)"; then
  echo "$tools_out"
  echo "fw: exit=127"
  exit 127
fi

targets=(all)
[ "$count" = 1 ] && targets+=(plugin)
if ! build_out="$(mk -s "${targets[@]}" 2>&1)"; then
  echo "$build_out"
  echo "fw: build=failed"
  exit 125
fi
elf="$(mk -s print-run-cmd | awk '{print $NF}')"
echo "fw: build=ok elf=$elf"
echo "$build_out" | grep '^fw: ram_used='
[ "$build_only" = 1 ] && exit 0

if [ "$count" = 1 ]; then cmd="$(mk -s print-count-cmd)"; else cmd="$(mk -s print-run-cmd)"; fi
log="$elf.insncount.log"
err="$elf.stderr.log"
rm -f "$log" "$err"
# -D: the plugin's lines go to a file, so the guest's stderr (fault reports) stays separate.
[ "$count" = 1 ] && cmd="$cmd -D $log"
# The outer 2>/dev/null only silences bash's "Aborted" notice if QEMU itself dies (status 134).
# shellcheck disable=SC2086  # the command is a plain word list printed by make
{ $cmd 2>"$err"; } 2>/dev/null
status=$?
[ -s "$err" ] && cat "$err"
[ -f "$log" ] && grep '^insncount:' "$log"
echo "fw: exit=$status"
exit $status
