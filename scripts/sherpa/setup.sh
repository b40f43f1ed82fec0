#!/usr/bin/env bash
# Installs sherpa-onnx's Node.js addon (k2-fsa's C++ runtime for Piper
# voices, with its own ONNX Runtime), the reference engine `make bench`
# compares Chorus with, and prints the node_modules folder that holds it:
#   NODE_PATH=$(scripts/sherpa/setup.sh) node scripts/sherpa/driver.js …
#
# From npm, pinned: sherpa-onnx-node and sherpa-onnx-linux-x64 1.13.8,
# install scripts never run, each tarball checked against the registry's
# integrity hash pinned here. Benchmarks only: tests never need it.
# Idempotent; cached under CHORUS_CACHE (default $HOME/.cache/chorus).
set -euo pipefail

version=1.13.8
declare -A want=(
  [sherpa-onnx-node]=sha512-MsDMBdhLFTZ1GwvcGSSQhnS7g/EA8OMH6IYysCVUOM7j8Icty9KRc0E6YT1A5fWBsZwRfKOeh88QC95aRvS8ag==
  [sherpa-onnx-linux-x64]=sha512-6plnhjagsSeTntCgnlag86hWbs/uZE9Crms1LgOb68/1nKsIQjMd+WG519m+aPwT6TrsBOiEMzrx41t8sL5L5g==
)

cache=${CHORUS_CACHE:-$HOME/.cache/chorus}
dir=$cache/sherpa-onnx/$version
log() { echo "sherpa-setup: $*" >&2; }

if [ -f "$dir/.verified" ]; then
  echo "$dir/node_modules"
  exit 0
fi
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) log "only linux/x86_64 is supported, not $(uname -s)/$(uname -m)"; exit 1 ;;
esac
command -v npm >/dev/null || { log "npm is required"; exit 1; }

mkdir -p "$cache/sherpa-onnx"
work=$(mktemp -d "$cache/sherpa-onnx/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "installing sherpa-onnx-node@$version from npm"
(cd "$work" && npm install --silent --no-audit --no-fund --ignore-scripts \
  "sherpa-onnx-node@$version" "sherpa-onnx-linux-x64@$version" >/dev/null)
for pkg in "${!want[@]}"; do
  got=$(node -e 'const l=require(process.argv[1]); const p=l.packages["node_modules/"+process.argv[2]]; console.log(p ? p.version+" "+p.integrity : "missing")' \
    "$work/package-lock.json" "$pkg")
  if [ "$got" != "$version ${want[$pkg]}" ]; then
    log "$pkg: got $got, want $version ${want[$pkg]}"
    exit 1
  fi
done
touch "$work/.verified"
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT
log "installed $dir"
echo "$dir/node_modules"
