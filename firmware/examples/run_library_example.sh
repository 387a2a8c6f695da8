#!/usr/bin/env bash
# The run-time data example end to end (docs/firmware-library.md): generate the training library for a model,
# write N dataset samples as a frame stream, build firmware/examples/library_example.c for Cortex-M7, run it
# under QEMU twice (boot 1: the first half of the frames, save; boot 2 = reboot: restore, the second half,
# save) with exact instruction counts, and check the final state against the host replay of all N steps.
# Usage: firmware/examples/run_library_example.sh [TTE] [WORK] [N]
#   defaults: build/tte, a temporary directory, 6; the model: models/default-backbone.pkl, classes 0-4
#   (Fashion-MNIST test split: Debian's dataset-fashion-mnist; another subset: CLASSES=5-9). Extra codegen
#   options: TTE_ARGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tte=${1:-$root/build/tte}
work=${2:-$(mktemp -d)}
n=${3:-6}
mkdir -p "$work/run"
work=$(cd "$work" && pwd)  # absolute: the runs below change directory
rm -f "$work/run/flash.bin"
"$tte" codegen --target library --model "$root/models/default-backbone.pkl" \
  --scheme "$root/models/default-backbone.scheme.json" --classes "${CLASSES:-0-4}" --samples "$n" --frames "$work/frames.bin" \
  --out "$work/lib" ${TTE_ARGS:-} | tee "$work/codegen.txt"
host=$(sed -n 's/.*host replay: checksum=\([0-9a-f]*\).*/\1/p' "$work/codegen.txt")
bytes=$(grep -o '#define TTE_INPUT_BYTES [0-9]*' "$work/lib/tte_model.h" | awk '{print $3}')
rec=$((bytes + 4))
half=$((n / 2))
head -c $((half * rec)) "$work/frames.bin" >"$work/first.bin"
tail -c +$((half * rec + 1)) "$work/frames.bin" >"$work/second.bin"
mk=(make -s -f "$root/firmware/Makefile.template" NAME=example B="$work/build"
    "SRCS=$root/firmware/examples/library_example.c $work/lib/tte_model.c $(ls "$work"/lib/kernels/*.c | tr '\n' ' ')"
    "INCLUDES=$work/lib" RAM_BUDGET=256K FLASH_BUDGET=1M TIMEOUT=600)
"${mk[@]}"
for boot in 1 2; do
  if [ $boot = 1 ]; then cp "$work/first.bin" "$work/run/frames.bin"; else cp "$work/second.bin" "$work/run/frames.bin"; fi
  echo "---- boot $boot"
  (cd "$work/run" && "${mk[@]}" count 2>&1) | grep -E '^(boot|step|saved)|insncount: mark' >"$work/boot$boot.txt" || true
  grep -E '^(boot|step|saved)' "$work/boot$boot.txt"
  # marks 2i, 2i+1 bracket step i (predict + train), the last pair the save
  awk '/insncount: mark/ { d = $5; sub("delta=", "", d); if ($3 % 2 == 1) printf("  mark %d: %s instructions\n", $3, d) }' \
    "$work/boot$boot.txt"
done
final=$(sed -n 's/^saved status=0 seq=2 checksum=\([0-9a-f]*\)$/\1/p' "$work/boot2.txt")
echo "final state checksum: MCU $final, host replay $host"
[ -n "$final" ] && [ "$final" = "$host" ] && echo "MCU = host after the reboot: OK" || { echo "MISMATCH"; exit 1; }
