#!/usr/bin/env bash
# One libFuzzer run of a tte fuzz target from its generated seed corpus (tte_fuzz_seeds) and the inputs that once
# failed it (regressions/TARGET-*), with the
# format's dictionary. Any crash, leak, sanitizer report, timeout or out-of-memory fails the run and
# leaves the input in WORK/; the last line prints executions, coverage (cov: edges, ft: features) and
# corpus size.
# Usage: run_fuzz.sh FUZZER SEED_TOOL TARGET DICT WORK [libFuzzer options...]
#   e.g. run_fuzz.sh build/tests/fuzz/pkl_fuzzer build/tests/fuzz/tte_fuzz_seeds pkl tests/fuzz/dict/pkl.dict /tmp/w -runs=1000000
set -euo pipefail
fuzzer=$(realpath "$1") seeds=$(realpath "$2") target=$3 dict=$(realpath "$4") work=$(realpath -m "$5")
shift 5
rm -rf "$work" && mkdir -p "$work/corpus" "$work/seeds"
"$seeds" "$work/seeds"
cp "$work/seeds/$target"/* "$work/corpus/"
src=$(dirname "$(realpath "$0")")
cp "$src"/regressions/"$target"-* "$work/corpus/" 2>/dev/null || true  # inputs that once failed (regressions/README.md)
echo "run_fuzz: $target: $(ls "$work/corpus" | wc -l) seeds, $(du -cb "$work/corpus"/* | tail -1 | cut -f1) bytes"
cd "$work"
status=0
"$fuzzer" -dict="$dict" -max_len=16384 -timeout=30 -rss_limit_mb=2048 -seed=1 -print_final_stats=1 \
  -artifact_prefix="$work/" "$@" corpus 2>&1 | tee fuzz.log || status=$?
# Coverage with the seeds alone (INITED) and at the end (DONE), and the number of failing inputs.
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' fuzz.log || true
echo "run_fuzz: $target: $(ls "$work" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true) failing inputs"
exit $status
