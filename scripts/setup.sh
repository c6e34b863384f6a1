#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the system packages the recorder and the
# tests need (clang and libbpf for eBPF, zstd and sqlite3 for the format tests, tmux for the
# terminal tests, g++ for nvcc's host compiler), then the npm dependencies. Safe to run again.
# The real-CUDA recorder tests also need the CUDA toolkit (nvcc and the shared libcudart; no
# GPU or driver needed): it is not a Debian package of the right version, so it is looked for
# and, when missing, the tests that need it say so and skip.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(clang llvm libbpf-dev libbpf1 bpftool bpftrace gcc g++ make python3 zstd sqlite3 tmux)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# better-sqlite3 and zstd-napi build from source when their prebuilt binaries cannot be
# downloaded; node-gyp must then use the local Node headers rather than fetch them.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
npm ci --no-audit --no-fund --loglevel=error

nvcc_found=$(command -v nvcc || ls -d /usr/local/cuda*/bin/nvcc 2>/dev/null | sort -r | head -1 || true)
if [ -n "$nvcc_found" ]; then
  echo "setup: CUDA toolkit found ($nvcc_found): the real-libcudart recorder tests will run"
else
  echo "setup: no CUDA toolkit (nvcc) on PATH or in /usr/local/cuda*/bin: the real-libcudart recorder tests will SKIP;" \
    "install the CUDA toolkit (https://developer.nvidia.com/cuda-downloads, no driver needed) to run them" >&2
fi
