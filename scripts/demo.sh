#!/usr/bin/env bash
# The main job, on the project's own embedded default backbone (models/default-backbone.pkl, made by
# tools/backbone/make_default_backbone.py; see models/default-backbone.md):
#   1. its int8 top-1 on the Fashion-MNIST test images of classes 0-4 through `tte eval`, beside the PyTorch
#      simulation of the same quantized model on the same images.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tte=$build/tte
model=models/default-backbone.pkl
echo "== tte info $model"
$tte info $model | tail -2
echo
echo "== int8 top-1 on Fashion-MNIST test classes 0-4 (5000 images)"
$tte eval --model $model --data fmnist --split test --classes 0-4
echo "PyTorch simulation of the same int8 model (recorded by tools/backbone, models/default-backbone.md):"
grep -m1 -i "int8 (simulated) top-1" models/default-backbone.md || true
