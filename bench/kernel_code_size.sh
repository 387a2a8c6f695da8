#!/bin/bash
# Measures the Cortex-M7 code size of the kernel library (src/kernels/*.c), the number behind
# kKernelLibraryCodeBytes in src/memory/sram.h (the code-size line of `tte plan`). Rerun it when the kernels
# change and update the constant if the total moved.
#   usage: bench/kernel_code_size.sh        (needs arm-none-eabi-gcc: apt-get install gcc-arm-none-eabi)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v arm-none-eabi-gcc >/dev/null || { echo "arm-none-eabi-gcc not found (apt-get install gcc-arm-none-eabi)" >&2; exit 127; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for f in "$root"/src/kernels/*.c; do
  arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard -O2 -ffp-contract=off -std=c99 \
    -I"$root/src" -c "$f" -o "$tmp/$(basename "$f" .c).o"
done
arm-none-eabi-size -t "$tmp"/*.o
total=$(arm-none-eabi-size -t "$tmp"/*.o | awk '/TOTALS/ {print $1 + $2}')
current=$(sed -n 's/^inline constexpr int64_t kKernelLibraryCodeBytes = \([0-9]*\);/\1/p' "$root/src/memory/sram.h")
echo "kernel library: text+data = $total bytes ($(arm-none-eabi-gcc --version | head -1)); src/memory/sram.h says $current"
