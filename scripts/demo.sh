#!/usr/bin/env bash
# The main job, on the project's own embedded default backbone (models/default-backbone.pkl, made by
# tools/backbone/make_default_backbone.py; see models/default-backbone.md). It needs nothing outside this
# repository and Debian's Fashion-MNIST.
#   1. the pretrained int8 model through tte's own int8 engine: its top-1 on the Fashion-MNIST test images of
#      classes 0-4 (the classes it was trained on), beside the PyTorch simulation of the same int8 model;
#   2. on-device learning: the model learns classes 5-9, which it has never seen, with a sparse update (the
#      scheme in models/default-backbone.scheme.json), exactly as the microcontroller would: batch 1, int8
#      weights and int32 biases updated in place, QAS, fused updates; accuracy before and after, step time;
#   3. the memory plan of that training program against a 256 KB budget;
#   4. the same training as generated C on a Cortex-M7 under QEMU, checked against the host;
#   5. the model exported to TFLite, trained on classes 5-9 in TFLite arithmetic, exported to TFLite again.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tte=$build/tte
model=models/default-backbone.pkl
scheme=models/default-backbone.scheme.json
out=${TTE_DEMO_OUT:-$build/demo}
mkdir -p "$out"

echo "== 1. int8 inference: the default backbone on Fashion-MNIST classes 0-4 (5000 test images)"
$tte eval --model $model --data fmnist --split test --classes 0-4
echo "   PyTorch simulation of the same int8 model (tools/backbone/int8_sim.py, models/default-backbone.md):"
echo "   $(grep -m1 'int8 top-1 (simulated)' models/default-backbone.md | sed 's/|//g; s/  */ /g')"
echo
echo "== 2. on-device learning: classes 5-9 (never seen), sparse update, device mode, batch 1"
$tte train --model $model --scheme $scheme --data fmnist --classes 5-9 --train-samples 5000 --eval-samples 1000 \
  --epochs 1 --lr 0.05 --warmup-epochs 0.1 --eval-before --out "$out/learned-5-9.pkl" \
  --metrics "$out/learned-5-9.jsonl" --plot "$out/learned-5-9.svg"
echo
echo "== 3. the memory plan of this training step (what a Cortex-M needs)"
$tte plan --model $model --scheme $scheme --num-classes 5 --budget 256KB | sed -n '/^SRAM/,/trainable SRAM/p'
echo
echo "== 4. the same training on the microcontroller: generated C, Cortex-M7 (QEMU mps2-an500), 256 KB SRAM"
echo "   (tte mcu-run: codegen, arm-none-eabi-gcc, 10 steps in QEMU, the host trains the same steps; docs/mcu.md)"
$tte mcu-run --model $model --scheme $scheme --classes 5-9 --samples 10 --budget 256KB
echo
echo "== 5. the same model as TFLite, the format MCU toolchains speak (docs/export.md, docs/tflite.md)"
echo "   exported to .tflite, it learns classes 5-9 in TFLite's integer arithmetic and is exported again"
$tte export --model $model --out "$out/default-backbone.tflite"
$tte train --model "$out/default-backbone.tflite" --scheme $scheme --data fmnist --classes 5-9 --train-samples 2000 \
  --eval-samples 1000 --epochs 1 --lr 0.05 --warmup-epochs 0.1 --eval-before --quiet --out "$out/learned-5-9.tflite"
$tte eval --model "$out/learned-5-9.tflite" --data fmnist --split test --classes 5-9 --max-samples 1000
echo
echo "== 6. in a firmware: the training library (tte codegen --target library, docs/firmware-library.md)"
echo "   frames arrive at run time; boot 1 trains on 3 and saves to flash, boot 2 (a reboot) restores, trains on 3"
echo "   more and saves; the final learned state equals the host's replay of all 6 steps, bit for bit"
CLASSES=5-9 firmware/examples/run_library_example.sh "$tte" "$out/library-example" 6
