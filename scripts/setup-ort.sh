#!/usr/bin/env bash
# Installs the ONNX Runtime CPU shared library that synth-job loads through
# github.com/yalue/onnxruntime_go (C API 24 → ONNX Runtime 1.24.x) and prints
# its path on stdout, so that callers can do
#   export CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh)
#
# The library comes from the npm package onnxruntime-node (the only registry
# that ships a prebuilt Linux x64 build we can reach); npm's install script is
# never run, only the one .so file is extracted. The file is verified against a
# pinned sha256 before it is installed, and installed by atomic rename, so an
# interrupted run never leaves a half-written library behind. Idempotent: when
# the verified file is already in the cache the script only prints its path.
#
# Environment: CHORUS_CACHE (default $HOME/.cache/chorus).
set -euo pipefail

version=1.24.1
want_sha256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

cache=${CHORUS_CACHE:-$HOME/.cache/chorus}
dir=$cache/onnxruntime/$version
lib=$dir/libonnxruntime.so.1

log() { echo "setup-ort: $*" >&2; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$lib" ] && [ "$(sha_of "$lib")" = "$want_sha256" ]; then
  echo "$lib"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) log "only linux/x86_64 is supported by this script, not $(uname -s)/$(uname -m)"; exit 1 ;;
esac
command -v npm >/dev/null || { log "npm is required to fetch onnxruntime-node@$version"; exit 1; }

mkdir -p "$dir"
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "fetching onnxruntime-node@$version from npm"
# npm pack verifies the tarball against the registry's integrity hash.
(cd "$work" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tarball=$work/onnxruntime-node-$version.tgz
[ -f "$tarball" ] || { log "npm pack did not produce $tarball"; exit 1; }
tar -xzf "$tarball" -C "$work" "$member"

got=$(sha_of "$work/$member")
if [ "$got" != "$want_sha256" ]; then
  log "sha256 mismatch for $member: got $got, want $want_sha256"
  exit 1
fi
chmod 0644 "$work/$member"
mv -f "$work/$member" "$lib"
log "installed $lib"
echo "$lib"
