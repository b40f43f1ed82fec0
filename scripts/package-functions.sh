#!/usr/bin/env bash
# Packages the HTTP Cloud Functions' source: the repository root package
# (which blank-imports the functions), every package of this module it
# depends on, go.mod and go.sum - nothing else (no tests, no synth-job, no
# web). Cloud Functions' Go buildpack builds this archive; each function is
# then picked by its entry point (terraform/functions.tf).
#
#   scripts/package-functions.sh [OUT_DIR]     (default build/functions)
#
# Prints the archive's path on stdout: OUT_DIR/functions-HASH.zip, where
# HASH is the archive's own sha256 (first 20 hex digits). The archive is
# reproducible (sorted entries, fixed times and modes), so unchanged sources
# give the same name and Terraform redeploys only when the code changed.
# Before writing it, the staged sources are built with CGO_ENABLED=0 on
# their own, as the buildpack will.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/build/functions}
log() { printf 'package-functions: %s\n' "$*" >&2; }

command -v zip >/dev/null || { log "zip is required (Debian/Ubuntu: apt-get install zip)"; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cd "$root"
module=$(go list -m)
# Every package of this module that the root package needs, with its Go
# and embedded files, for the platform the functions run on.
GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go list -deps \
  -f '{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}' . |
  while read -r pkg files; do
    dir=${pkg#"$module"}
    dir=${dir#/}
    [[ -n $dir ]] || dir=.
    mkdir -p "$stage/$dir"
    for f in $files; do
      case $dir/$f in
      synth-job/* | ./synth-job/*) log "the functions must not depend on synth-job ($pkg)"; exit 1 ;;
      esac
      cp "$dir/$f" "$stage/$dir/$f"
    done
  done
cp go.mod go.sum "$stage/"

# The archive must build on its own, without cgo, as the buildpack builds it.
(cd "$stage" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o /dev/null .) ||
  { log "the staged function sources do not build with CGO_ENABLED=0"; exit 1; }

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
find "$stage" -exec touch -h -d '1980-01-02T00:00:00Z' {} +
mkdir -p "$out"
tmpzip=$(mktemp "$out/.functions.XXXXXX")
rm -f "$tmpzip"
(cd "$stage" && find . -type f | LC_ALL=C sort | TZ=UTC zip -q -X -D -@ "$tmpzip")
hash=$(sha256sum "$tmpzip" | cut -c1-20)
zipfile=$out/functions-$hash.zip
mv "$tmpzip" "$zipfile"
log "$(unzip -Z1 "$zipfile" | wc -l) files, $(stat -c %s "$zipfile") bytes"
echo "$zipfile"
