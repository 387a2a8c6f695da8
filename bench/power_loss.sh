#!/usr/bin/env bash
# Power-loss bench of the firmware training library (issue 16, docs/firmware-library.md "Power-loss testing"):
# TRIALS power cuts under QEMU mps2-an500 at instruction counts drawn uniformly across 4 saves of the learned
# state (tests/codegen/power_loss_test.cc: golden run, cut with firmware/tools/powercut.c, reboot, restore);
# every trial must restore, bit for bit, the last complete save or the one before. Prints the test's summary.
# Usage: bench/power_loss.sh [TRIALS] [BUILD]    (defaults 1000, build; needs arm-none-eabi-gcc, qemu-system-arm)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-1000}
build=${2:-build}
TTE_POWER_LOSS_TRIALS=$trials "$build/tests/codegen/codegen_library_test" --gtest_filter='LibraryArm.PowerLoss*' |
  grep -E '^\[ powerloss \]|OK \]|FAILED|trial '
