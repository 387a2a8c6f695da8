#!/usr/bin/env bash
# Installs the Debian 12 packages tte needs, skipping those already present (idempotent).
#   scripts/install-deps.sh          build, test and MCU-emulation dependencies
#   scripts/install-deps.sh --tools  also the offline tooling (Pillow for tools/backbone)
set -euo pipefail

packages=(
  build-essential cmake ninja-build git ca-certificates          # build
  zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev          # libraries
  flatbuffers-compiler libflatbuffers-dev                        # TFLite import (flatc at build time)
  libgtest-dev libgmock-dev                                      # tests
  clang libclang-rt-14-dev                                       # libFuzzer target of the pkl reader
  python3 python3-numpy python3-torch                            # test helpers; the gradient oracle (tools/oracle)
  dataset-fashion-mnist                                          # the datasets of the demo and benchmarks
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm      # Cortex-M7 cross build and emulation
  openmpi-bin libopenmpi-dev                                     # tte analyze over MPI ranks (mpirun)
)
if [[ "${1:-}" == "--tools" ]]; then
  packages+=(python3-pil)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to run apt-get" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
