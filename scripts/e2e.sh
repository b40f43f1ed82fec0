#!/usr/bin/env bash
# Browser end-to-end test against the real local stack: starts the stack
# (emulators, functions, worker, web app) on a free port, runs the README's
# operator walkthrough on it (scripts/operator-walkthrough.sh), the smoke
# test and the Chromium test (scripts/e2e-web.sh), and stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${CHORUS_ORT_LIBRARY:?set CHORUS_ORT_LIBRARY (make test-e2e does)}"

(cd web && npm run build --silent)
state=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
go build -o "$state/devstack" ./scripts/devstack
"$state/devstack" -addr "127.0.0.1:$port" -dir "$state" -ready-file "$state/ready" >"$state/stack.log" 2>&1 &
stack=$!
cleanup() {
  kill -TERM "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT
for _ in $(seq 1 180); do
  [ -s "$state/ready" ] && break
  kill -0 "$stack" 2>/dev/null || { echo "e2e: the stack died:" >&2; tail -50 "$state/stack.log" >&2; exit 1; }
  sleep 0.5
done
[ -s "$state/ready" ] || { echo "e2e: the stack did not come up in 90 s" >&2; tail -50 "$state/stack.log" >&2; exit 1; }
echo "e2e: stack up at $(cat "$state/ready")"
# The README's operator walkthrough on this fresh stack; the browser test
# then plays a clip of the member it added (CHORUS_E2E_MEMBER).
if ! CHORUS_STACK_ENV="$state/stack.env" scripts/operator-walkthrough.sh | tee "$state/walkthrough.log"; then
  echo "e2e: the README's operator walkthrough failed; last stack log lines:" >&2
  tail -40 "$state/stack.log" >&2
  exit 1
fi
member=$(sed -n 's/^walkthrough: member //p' "$state/walkthrough.log")
if ! CHORUS_URL="http://127.0.0.1:$port" scripts/smoke.sh || ! CHORUS_E2E_MEMBER="$member" CHORUS_URL="http://127.0.0.1:$port" scripts/e2e-web.sh; then
  echo "e2e: failed; last stack log lines:" >&2
  tail -40 "$state/stack.log" >&2
  exit 1
fi
