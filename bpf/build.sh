#!/usr/bin/env bash
# Compiles the CO-RE BPF objects shipped in bpf/*.bpf.o. vmlinux.h is generated from this
# machine's kernel BTF into a gitignored directory: CO-RE relocations make the objects load on
# other kernels, so the header only has to describe the types, not match the target kernel.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gen="$here/.gen"
mkdir -p "$gen"
if [[ ! -s "$gen/vmlinux.h" ]]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$gen/vmlinux.h.tmp"
  mv "$gen/vmlinux.h.tmp" "$gen/vmlinux.h"
fi
for src in "$here"/*.bpf.c; do
  obj="${src%.c}.o"
  clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I"$gen" -I"$here" -Wall -Werror \
    -c "$src" -o "$obj.tmp"
  # Drop DWARF but keep BTF (needed for CO-RE): smaller objects, reproducible across paths.
  llvm-strip -g "$obj.tmp"
  mv "$obj.tmp" "$obj"
  echo "built ${obj#$here/}"
done
