#!/usr/bin/env bash
# The long fuzzing benchmark: every fuzz target of tests/fuzz for RUNS executions (10^7 by default), one
# process, one worker (niceness FUZZ_NICE, default 10, so the machine stays usable), from its generated seed corpus and
# dictionary. Records, per target, executions, speed, coverage (libFuzzer's cov: edges and ft: features at
# the start and at the end, so what the run found beyond the seeds shows), corpus size, peak memory and
# failing inputs (crashes, leaks, timeouts, out-of-memory), and rewrites the results table of
# docs/fuzzing.md (rows of targets not run this time are kept).
# Allocation stacks are not recorded (ASAN_OPTIONS=malloc_context_size=0: less work per allocation); rerun a
# failing input with the fuzzer alone for full reports.
# Usage: bench/fuzz.sh [BUILD_DIR] [RUNS] [TARGET...]     e.g. bench/fuzz.sh build 10000000 pkl npy
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-10000000}
shift 2 2>/dev/null || shift $#
targets=("$@")
((${#targets[@]})) || targets=(pkl npy zip idx image)
cmake --build "$build" -j2 --target tte_fuzz_seeds $(printf 'tte_%s_fuzzer ' "${targets[@]}") >/dev/null || exit 1
out=$build/bench_fuzz
mkdir -p "$out"
for t in "${targets[@]}"; do
  echo "bench/fuzz.sh: $t: $runs executions ..."
  start=$(date +%s)
  ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0} nice -n "${FUZZ_NICE:-10}" tests/fuzz/run_fuzz.sh "$build/tests/fuzz/${t}_fuzzer" "$build/tests/fuzz/tte_fuzz_seeds" "$t" \
    "tests/fuzz/dict/$t.dict" "$out/$t" -runs="$runs" >"$out/$t.log" 2>&1
  status=$?
  secs=$(($(date +%s) - start))
  log=$out/$t/fuzz.log
  stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
  inited=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log")
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$2"; }
  failing=$(ls "$out/$t" | grep -cE '^(crash|leak|timeout|oom)-')
  row="| $t | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $secs | $(field cov "$inited") -> $(field cov "$done_line") | $(field ft "$inited") -> $(field ft "$done_line") | $(field corp "$done_line") | $(stat peak_rss_mb) | $failing | $status |"
  echo "$row"
  /usr/bin/python3 - "$t" "$row" <<'PY'
import re, sys
target, row = sys.argv[1], sys.argv[2]
path = "docs/fuzzing.md"
text = open(path).read()
begin, end = "<!-- results:begin -->\n", "<!-- results:end -->"
b, e = text.index(begin) + len(begin), text.index(end)
rows = [r for r in text[b:e].splitlines() if r.startswith("| ") and not r.startswith("| target") and not r.startswith("|---")]
rows = [r for r in rows if r.split("|")[1].strip() != target] + [row]
order = ["pkl", "npy", "zip", "idx", "image"]
rows.sort(key=lambda r: order.index(r.split("|")[1].strip()) if r.split("|")[1].strip() in order else 99)
head = ("| target | executions | per second | seconds | cov (edges), seeds -> end | ft (features), seeds -> end "
        "| corpus | peak RSS MB | failing inputs | exit |\n|---|---|---|---|---|---|---|---|---|---|\n")
open(path, "w").write(text[:b] + head + "\n".join(rows) + "\n" + text[e:])
PY
done
