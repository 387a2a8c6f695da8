#!/usr/bin/env bash
# Bounded libFuzzer run of the .pkl reader: builds a seed corpus (our default backbone, its raw pickle,
# the paper's models when ../shared is present) and fuzzes for SECONDS seconds. Any crash, leak,
# sanitizer report or timeout fails the test; the crashing input is left in WORK/.
# Usage: run_fuzz.sh FUZZER SOURCE_DIR WORK SECONDS [SHARED_DIR]
set -euo pipefail
fuzzer=$1 src=$2 work=$3 secs=$4 shared=${5:-}
rm -rf "$work" && mkdir -p "$work/corpus"
seeds=("$src/models/default-backbone.pkl")
if [[ -n "$shared" && -d "$shared/models" ]]; then
  seeds+=("$shared"/models/*.pkl)
else
  echo "run_fuzz: ../shared not found: seeding with tte's own model only"
fi
for f in "${seeds[@]}"; do
  [[ -f "$f" ]] || continue
  b=$(basename "$f" .pkl)
  cp "$f" "$work/corpus/$b.pkl"
  /usr/bin/python3 - "$f" "$work/corpus/$b" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
data = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
open(sys.argv[2] + ".pickle", "wb").write(data)
open(sys.argv[2] + ".head.pickle", "wb").write(data[:4096])
PY
done
[[ -n "$(ls "$work/corpus")" ]] || { echo "run_fuzz: no seed model found"; exit 1; }
cd "$work"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -seed=1 -print_final_stats=1 corpus
