#!/usr/bin/env bash
# Regenerates investigations/*.ingero from the Ingero databases they come from
# (github.com/ingero-io/ingero, investigations/, Apache-2.0). The import is deterministic: a
# rebuild gives the same database inside each bundle (test/import-investigations.test.ts).
# Usage: investigations/rebuild.sh [folder with the .db files]
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-../shared/data/ingero-investigations}"
shopt -s nullglob
dbs=("$src"/*.db)
if [ ${#dbs[@]} -eq 0 ]; then
  echo "rebuild.sh: no .db files in $src — pass the folder holding Ingero's investigation databases" >&2
  exit 1
fi
for db in "${dbs[@]}"; do
  ./bin/ingero.mjs import "$db" -o "investigations/$(basename "$db" .db).ingero"
done
