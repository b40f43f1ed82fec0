#!/usr/bin/env bash
# Installs the Debian packages Chorus needs for building and testing, when
# they are missing. Idempotent: a machine that has them all does nothing.
#   espeak-ng, libespeak-ng-dev: phonemes for the synthesis engine (cgo)
#   libopusenc-dev, libsoxr-dev, libmp3lame-dev: Ogg Opus (with resampling
#     to 48 kHz) and MP3 encoding in the worker (synth-job/encode, cgo)
#   ffmpeg: measures loudness and decodes Opus and MP3 in tests (an
#     independent check of synth-job/loudness and synth-job/encode)
#   sox: checks WAV files in tests and by hand
#   chromium, chromium-driver, fonts-noto-*: the browser end-to-end test (Korean, emoji)
#   zip: packaging the function sources (scripts/package-functions.sh)
#   xz-utils: unpacking the bench voices of ../shared/voices (tests, make bench)
#   python3-onnx: onnx.checker, the independent check of the ONNX files Chorus
#     writes (the demo voices, the prepared graphs); Debian's module imports only
#     under /usr/bin/python3, which the tests call
#   python3, curl: used by the scripts (e2e, smoke, load, gpu-bench pruning)
set -euo pipefail

pkgs=(espeak-ng libespeak-ng-dev libopusenc-dev libsoxr-dev libmp3lame-dev ffmpeg sox chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji zip xz-utils python3-onnx)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Commands the scripts run: any python3 and curl on the PATH will do.
for c in python3 curl; do
  command -v "$c" >/dev/null || missing+=("$c")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-system: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: not root; install these Debian packages yourself: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
