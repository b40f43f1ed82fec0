#!/usr/bin/env bash
# Runs every Go fuzz target in the repository (each `func FuzzX` in a
# tracked *_test.go) for FUZZTIME each (default 5s): `go test` alone runs
# only their seed corpora. A failing input is written under the package's
# testdata/fuzz/ and the script fails, naming it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${FUZZTIME:-5s}"
# Fuzz targets use no emulators: packages whose TestMain starts them skip it.
export CHORUS_FUZZ_ONLY=1
start=$(date +%s)
n=0
while IFS=: read -r file decl; do
  name="${decl#func }"
  name="${name%%(*}"
  pkg="./$(dirname "$file")"
  echo "test-fuzz: $pkg $name ($fuzztime)"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$pkg"
  n=$((n + 1))
done < <(git grep --full-name -o -e '^func Fuzz[A-Za-z0-9_]*(' -- '*_test.go')
if [ "$n" -eq 0 ]; then
  echo "test-fuzz: no fuzz targets found" >&2
  exit 1
fi
echo "test-fuzz: $n targets ok in $(( $(date +%s) - start ))s"
