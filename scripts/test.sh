#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. installs missing Debian packages (scripts/install-deps.sh);
#   2. Release build with warnings as errors, then every test (unit, golden, e2e, fuzz, firmware/QEMU);
#   3. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer, except the tests whose work runs
#      in QEMU (labels firmware, mcu) and the fuzzer (built with its own ASan + UBSan by clang).
# Tests that need ../shared (the paper's models and golden data) say SKIPPED when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
scripts/build.sh build
ctest --test-dir build --output-on-failure -j"$jobs"
scripts/build.sh build-asan -DTTE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE 'firmware|mcu|fuzz'
echo "test.sh: all tests passed"
