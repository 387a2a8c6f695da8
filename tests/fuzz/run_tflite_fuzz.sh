#!/usr/bin/env bash
# Bounded libFuzzer run of the TFLite reader, writer and importer: seeds are tte's own small models
# (written by SEEDGEN) and the inputs that once failed (regressions/tflite-*), the dictionary tflite.dict. Fails on any crash, sanitizer report, leak, timeout
# or broken round trip (the crashing input is left in WORK/), and unless graphs were built from the
# corpus, i.e. the graph builder was reached.
# Usage: run_tflite_fuzz.sh FUZZER SEEDGEN SOURCE_DIR WORK SECONDS [extra libFuzzer flags...]
set -euo pipefail
fuzzer=$1 seedgen=$2 src=$3 work=$4 secs=$5
shift 5
rm -rf "$work" && mkdir -p "$work/corpus"
"$seedgen" "$work/corpus"
cp "$src"/tests/fuzz/regressions/tflite-* "$work/corpus/"  # inputs that once failed
cd "$work"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -seed=1 \
  -dict="$src/tests/fuzz/tflite.dict" -print_final_stats=1 "$@" corpus 2>&1 | tee fuzz.log
graphs=$(sed -n 's/.*graphs built: \([0-9]*\).*/\1/p' fuzz.log | tail -1)
if [[ -z "$graphs" || "$graphs" -eq 0 ]]; then
  echo "run_tflite_fuzz: no graph was built: the fuzzer never reached the graph builder"
  exit 1
fi
echo "run_tflite_fuzz: graph builder reached, $graphs graphs built"
