#!/usr/bin/env bash
# Browser end-to-end test of the web app in headless Debian Chromium, driven
# by playwright-core (web/e2e/run.mjs).
#
# By default it tests the running local stack at CHORUS_URL
# (default http://127.0.0.1:8080, as started by `make dev`), and fails if
# nothing answers there. CHORUS_E2E_MOCK=1 instead builds the app and tests
# it against web/e2e/mock-server.mjs on a free local port; the mock is only
# used when asked for, never as a fallback.
#
# Screenshots: build/e2e/ at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/web"
start=$(date +%s)
export CHORUS_E2E_OUT="${CHORUS_E2E_OUT:-$root/build/e2e}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "e2e-web: $CHROMIUM missing; installing Debian chromium" >&2
  "$root/scripts/setup-system.sh"
fi
# shellcheck source=web/tools/ensure-deps.sh
. "$root/web/tools/ensure-deps.sh"
web_deps
mkdir -p "$CHORUS_E2E_OUT"

mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if [ "${CHORUS_E2E_MOCK:-}" = "1" ]; then
  echo "e2e-web: MOCK mode: building the app and starting web/e2e/mock-server.mjs"
  npm run build --silent
  url_file="$(mktemp)"
  node e2e/mock-server.mjs --port 0 --url-file "$url_file" &
  mock_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$url_file" ] && break
    kill -0 "$mock_pid" 2>/dev/null || { echo "e2e-web: mock server exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$url_file" ] || { echo "e2e-web: mock server did not start" >&2; exit 1; }
  CHORUS_URL="$(cat "$url_file")"
  rm -f "$url_file"
else
  CHORUS_URL="${CHORUS_URL:-http://127.0.0.1:8080}"
  if ! curl -fsS -o /dev/null --max-time 5 "${CHORUS_URL%/}/config.json"; then
    echo "e2e-web: nothing serves ${CHORUS_URL%/}/config.json; start the stack (make dev) or set CHORUS_URL," >&2
    echo "         or run against the mock API with CHORUS_E2E_MOCK=1" >&2
    exit 1
  fi
fi
export CHORUS_URL
echo "e2e-web: testing $CHORUS_URL with $CHROMIUM"
node e2e/run.mjs
echo "e2e-web: ok in $(( $(date +%s) - start ))s; screenshots in $CHORUS_E2E_OUT"
