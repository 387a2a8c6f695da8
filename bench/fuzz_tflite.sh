#!/usr/bin/env bash
# Long run of the TFLite fuzzer (reader + writer round trip + importer, ASan + UBSan), recorded in
# docs/fuzzing-tflite.md. Rerun to regenerate the page; it records the command, the machine and the
# results of this run only.
#   bench/fuzz_tflite.sh [BUILD_DIR] [RUNS]      defaults: build, 10000000 executions
# Needs the fuzzer and its seed generator built: cmake --build BUILD_DIR --target tte_tflite_fuzzer tflite_fuzz_seeds
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-10000000}
fuzzer=$PWD/$build/tests/fuzz/tflite_fuzzer
seedgen=$PWD/$build/tests/fuzz/tflite_fuzz_seeds
work=$PWD/$build/bench_fuzz_tflite
dict=$PWD/tests/fuzz/tflite.dict
for f in "$fuzzer" "$seedgen"; do
  [[ -x "$f" ]] || { echo "fuzz_tflite: $f not built (cmake --build $build --target tte_tflite_fuzzer tflite_fuzz_seeds)" >&2; exit 1; }
done
rm -rf "$work" && mkdir -p "$work/corpus"
"$seedgen" "$work/corpus" > "$work/seeds.txt"
cp tests/fuzz/regressions/tflite-* "$work/corpus/"
seed_list=$(sed "s/:.*//" "$work/seeds.txt" | paste -sd, | sed "s/,/, /g")
start=$(date +%s)
set +e
(cd "$work" && "$fuzzer" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -seed=1 \
  -dict="$dict" -print_final_stats=1 corpus > fuzz.log 2>&1)
rc=$?
set -e
secs=$(( $(date +%s) - start ))
log=$work/fuzz.log
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
last=$(grep -E '^#[0-9]+' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<< "$last")
counters=$(grep '^tflite_fuzzer: ' "$log" | tail -1 | sed 's/^tflite_fuzzer: //')
crashes=$(ls "$work" | grep -cE '^(crash|leak|timeout|oom)-' || true)
outcome="no crash, leak, timeout or broken round trip"
if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
  outcome="**FAILED** (exit $rc, $crashes artifact(s) in $build/bench_fuzz_tflite): $(grep -m1 -E 'ERROR|runtime error|tflite_fuzzer: (the|write)' "$log" || true)"
fi
flatc_version=$(flatc --version 2>/dev/null || echo unknown)
clang_version=$(clang++ --version | head -1)

cat > docs/fuzzing-tflite.md <<EOF
# Fuzzing the TFLite import

Produced by \`bench/fuzz_tflite.sh $build $runs\` on $(date -u +%Y-%m-%d) ($(nproc) cores shared with other jobs; one fuzzing process).
Do not edit by hand: rerun the command.

The target (\`tests/fuzz/tflite_fuzzer.cc\`, clang with libFuzzer + ASan + UBSan, $clang_version, flatbuffers
from Debian's $flatc_version) feeds every input to the reader (\`ParseModelFile\`: size and identifier checks,
flatbuffers' Verifier, the element budget, semantic validation); what parses is written back by the writer
and parsed again, and must hold the same model (\`FirstDifference\` == "", or the writer refuses with
kUnsupported what the reader did not keep); then it is imported (\`ImportModelFile\`: the op builders and
\`ir::Verify\`). Seeds: tte's own small models written by its writer ($seed_list), made at run time by
\`tflite_fuzz_seeds\`, plus the regressions in \`tests/fuzz/regressions/\`; dictionary \`tests/fuzz/tflite.dict\`.
The suite's \`fuzz_tflite\` test (\`ctest -L fuzz\`) runs the same target for 30 s and fails unless graphs were built.

| | this run |
|---|---|
| executions | $(stat number_of_executed_units) |
| wall time | $secs s |
| executions per second | $(stat average_exec_per_sec) |
| coverage (libFuzzer \`cov\` / \`ft\`) | $cov edges / $ft features |
| corpus at the end | $corp |
| new units added | $(stat new_units_added) |
| peak RSS | $(stat peak_rss_mb) MB |
| how far inputs got | $counters |
| outcome | $outcome |

## Findings

Faults found while the target was written (earlier runs, before this one); every input is kept in
\`tests/fuzz/regressions/\` and run first in every fuzz run.

| found | what | fixed |
|---|---|---|
| first 15 s run, during development | a zero-point vector (int64) aligned to 4 but not 8 bytes: flatbuffers' Verifier accepts it (it checks a vector's 4-byte alignment only) and reading it through an \`int64_t\` pointer is undefined behaviour (UBSan: misaligned load) | the reader copies vector elements bytewise (\`tflite-misaligned-int64-vector\`) |
| a 30 s run | an operator code whose builtin code is negative: accepted by the reader, refused by the writer (the round-trip property failed) | the reader refuses negative codes (\`tflite-negative-builtin-code\`, and \`negative-opcode.tflite\` in docs/tflite.md) |
| a 10^7 run stopped at 3.9 M executions | a softmax beta of -0.0 read back as +0.0: flatbuffers' builder leaves out a field equal to its default and -0.0 == 0.0 | the writer forces the field out for -0.0 (\`tflite-negative-zero-float-option\`, unit test \`NegativeZeroSoftmaxBetaRoundTrips\`) |
EOF
echo "fuzz_tflite: $(stat number_of_executed_units) executions in $secs s, cov $cov, $outcome"
echo "fuzz_tflite: wrote docs/fuzzing-tflite.md"
[[ $rc -eq 0 && $crashes -eq 0 ]]
