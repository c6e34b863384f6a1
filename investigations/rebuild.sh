#!/usr/bin/env bash
# Regenerates investigations/*.ingero from the Ingero databases they come from
# (github.com/ingero-io/ingero, investigations/, Apache-2.0; shipped zstd-compressed in
# test/fixtures/ingero-investigations/). The import is deterministic: a rebuild gives the same
# database inside each bundle (test/import-investigations.test.ts).
# Usage: investigations/rebuild.sh [folder with the .db files; default: the shipped fixtures]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
  src="$1"
else
  src="$(mktemp -d)"
  trap 'rm -rf "$src"' EXIT
  for z in test/fixtures/ingero-investigations/*.db.zst; do zstd -q -d "$z" -o "$src/$(basename "$z" .zst)"; done
  (cd "$src" && sha256sum --quiet -c "$OLDPWD/test/fixtures/ingero-investigations/SHA256SUMS")
fi
shopt -s nullglob
dbs=("$src"/*.db)
if [ ${#dbs[@]} -eq 0 ]; then
  echo "rebuild.sh: no .db files in $src — pass the folder holding Ingero's investigation databases" >&2
  exit 1
fi
for db in "${dbs[@]}"; do
  ./bin/ingero.mjs import "$db" -o "investigations/$(basename "$db" .db).ingero"
done
