#!/usr/bin/env bash
# Calibration of tte train's divergence rule (docs/training.md, "Divergence"): the project's default backbone
# learns Fashion-MNIST classes 5-9 (400 images, batch 1, one epoch, seed 1) at learning rates from working to
# absurd; for each, whether the run completed (its top-1 and its largest windowed loss against the rule's
# limit) or was stopped (the message). Rewrites the table of docs/training.md between its markers.
# Usage: bench/divergence.sh [TTE]     (default build/tte; needs Debian's dataset-fashion-mnist)
set -uo pipefail
cd "$(dirname "$0")/.."
tte=${1:-build/tte}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args="--model models/default-backbone.pkl --classes 5-9 --train-samples 400 --eval-samples 200 --epochs 1 --seed 1 --quiet"
rows=""
for lr in 0.01 0.05 0.1 0.2 0.5 5 1e30; do
  rm -f "$work/m.jsonl"
  if "$tte" train $args --lr "$lr" --metrics "$work/m.jsonl" >"$work/log" 2>&1; then
    result=$(/usr/bin/python3 -c "
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(f\"completed: eval top-1 {m['eval_top1']:.1f} %, largest windowed loss {m['max_window_loss']:.3g} (limit {m['loss_limit']:.3g}, ratio {m['max_window_loss'] / m['loss_limit']:.2f})\")
" "$work/m.jsonl")
  else
    result="stopped: $(grep -m1 'error:' "$work/log" | sed 's/^tte train: error: invalid argument: //')"
  fi
  echo "lr $lr: $result"
  rows+="| $lr | $result |"$'\n'
done
/usr/bin/python3 - "$rows" "$tte train $args --lr LR" <<'PY'
import sys
rows, cmd = sys.argv[1], sys.argv[2]
path = "docs/training.md"
text = open(path).read()
begin, end = "<!-- divergence:begin -->\n", "<!-- divergence:end -->"
b, e = text.index(begin) + len(begin), text.index(end)
table = f"`bench/divergence.sh` runs `{cmd}`:\n\n| lr | result |\n|---|---|\n{rows}"
open(path, "w").write(text[:b] + table + text[e:])
PY
