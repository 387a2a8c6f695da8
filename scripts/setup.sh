#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs what is missing, builds tte (Release), and runs
# the main job on the embedded default backbone (scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tools
scripts/build.sh build
scripts/demo.sh build
