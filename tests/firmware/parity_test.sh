#!/usr/bin/env bash
# parity_test.sh - CTest firmware_numerics_parity: firmware/tests/numerics_parity.c built for the host
# (by CMake, the project's host flags) and for the Cortex-M7 (firmware/Makefile.template, run under
# QEMU; other cores with PARITY_CPUS) must print identical checksums for every gated category.
#
#   parity_test.sh HOST_BIN FW_DIR WORK_DIR [PLUGIN [SRC_DIR]]
#   SRC_DIR given: the MCU build also compiles SRC_DIR/kernels/*.c with -DPARITY_WITH_KERNELS (the host
#   build must have been made the same way, as tests/firmware/CMakeLists.txt does).
#   env PARITY_OPTS="-O2 -Os"   MCU optimisation levels to check (default: both)
#   env PARITY_CPUS="cortex-m7" cores (firmware.mk CPU=) to check (default: the M7 only)
#
# Prints one line per category and level (the "m7=" column is the MCU's checksum, whatever the core):
#   parity -O2 rintf_prod gated host=<hex> m7=<hex> agree insns=<exact M7 instruction count>
# (other cores: "parity cortex-m33 -O2 ...").
# Informational categories (gated=0) are reported as "differ (informational)" and never fail.
# Exit 0 only if every gated category agrees at every level; a missing tool fails with an install hint.
set -u
host_bin=$1 fw=$2 work=$3 plugin=${4:-} src=${5:-}
opts=${PARITY_OPTS:--O2 -Os}
cpus=${PARITY_CPUS:-cortex-m7}

fail() { echo "FAIL: $*"; exit 1; }

if ! tools="$(make -s --no-print-directory -f "$fw/Makefile.template" check-tools 2>&1)"; then
  echo "$tools"
  fail "the firmware toolchain is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
fi
echo "$tools"
[ -x "$host_bin" ] || fail "host build $host_bin missing (cmake --build <dir> --target tte_fw_numerics_parity_host)"
host_out="$("$host_bin")" || fail "host run failed: $host_out"

status=0
for cpu in $cpus; do
for opt in $opts; do
  # The M7 keeps its historical build directory and output lines; other cores are named in both.
  b="$work/parity${opt}" label="$opt"
  [ "$cpu" = cortex-m7 ] || { b="$work/$cpu/parity${opt}"; label="$cpu $opt"; }
  vars=(NAME=numerics_parity "SRCS=$fw/tests/numerics_parity.c" "INCLUDES=$fw/tests" "B=$b" "OPT=$opt" "CPU=$cpu")
  if [ -n "$src" ]; then
    vars=(NAME=numerics_parity "SRCS=$fw/tests/numerics_parity.c $(echo "$src"/kernels/*.c)" "INCLUDES=$fw/tests $src"
          DEFS=-DPARITY_WITH_KERNELS "B=$b" "OPT=$opt" "CPU=$cpu")
  fi
  [ -n "$plugin" ] && [ -f "$plugin" ] && vars+=("PLUGIN=$plugin")
  m7_out="$("$fw/tools/run_firmware.sh" "${vars[@]}")"
  rc=$?
  if [ $rc -ne 0 ]; then echo "$m7_out"; fail "$cpu build/run at $opt exited with $rc"; fi
  echo "$m7_out" | grep -E '^(fw: ram_used|mcu:|insncount: total)' | sed "s/^/[$label] /"
  # Join host and M7 lines by category name; the category's instruction count is the delta at
  # mark 2i+1 (numerics_parity.c marks before and after each category).
  report="$(awk -v opt="$label" '
    FNR == 1 { file++ }
    file == 1 && $1 == "cat" { host[$2] = $5; gated[$2] = $3; order[++n] = $2 }
    file == 1 && /^checksum=/ { htotal = $1 }
    file == 2 && $1 == "cat" { m7[$2] = $5; idx[$2] = ncat++ }
    file == 2 && /^checksum=/ { mtotal = $1 }
    file == 2 && $1 == "insncount:" && $2 == "mark" { split($5, d, "="); delta[$3] = d[2] }
    END {
      bad = 0
      for (i = 1; i <= n; i++) {
        c = order[i]; g = (gated[c] == "gated=1")
        h = host[c]; sub(/checksum=/, "", h); m = m7[c]; sub(/checksum=/, "", m)
        if (!(c in m7)) { verdict = "MISSING"; bad += g }
        else if (h == m) verdict = "agree"
        else if (g) { verdict = "DIFFER"; bad++ }
        else verdict = "differ (informational)"
        printf "parity %s %-22s %-6s host=%s m7=%s %-24s insns=%s\n", opt, c, g ? "gated" : "info", h, m, verdict,
               (c in idx) ? delta[2 * idx[c] + 1] : "?"
      }
      printf "parity %s total host %s m7 %s %s\n", opt, htotal, mtotal, htotal == mtotal ? "agree" : "DIFFER"
      if (htotal != mtotal) bad++
      exit bad ? 1 : 0
    }' <(echo "$host_out") <(echo "$m7_out"))"
  rc=$?
  echo "$report"
  [ $rc -eq 0 ] || status=1
done
done
[ $status -eq 0 ] && echo "PASS: every gated category agrees bit for bit (host vs $cpus at: $opts)" \
                  || echo "FAIL: gated categories differ between host and $cpus (lines marked DIFFER)"
exit $status
