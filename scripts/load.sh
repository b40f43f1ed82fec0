#!/usr/bin/env bash
# Load run (make bench): starts the whole local stack (emulators, API,
# several synth-job workers) with scripts/devstack, submits N jobs through
# the HTTP API with scripts/load and prints its report: accepted, succeeded,
# failed, lost, duplicates, throughput, time-to-audio and API latency.
# Exits non-zero when a job is lost or duplicated.
#
#   CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh) scripts/load.sh
#   N=100 WORKERS=2 scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-500}
WORKERS=${WORKERS:-3}
CLIENTS=${CLIENTS:-16}
export CHORUS_ORT_LIBRARY=${CHORUS_ORT_LIBRARY:-$(scripts/setup-ort.sh)}
# One load client sends every request from one address: the per-client
# rate limit (tested in functions/api) would throttle the run, not measure it.
export CHORUS_RATE_PER_MINUTE=0

work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-load.XXXXXX")
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/devstack" ./scripts/devstack
go build -o "$work/synth-job" ./synth-job
go build -o "$work/load" ./scripts/load

"$work/devstack" -addr 127.0.0.1:0 -dir "$work/state" -workers "$WORKERS" \
	-worker-bin "$work/synth-job" -ready-file "$work/ready" \
	-worker-env "CHORUS_EXECUTION_PROVIDER=cpu,CHORUS_INTRA_OP_THREADS=1" >"$work/stack.log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do
	[[ -s $work/ready ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "load.sh: the stack did not start:" >&2
		tail -n 30 "$work/stack.log" >&2
		exit 1
	fi
	sleep 0.5
done
if [[ ! -s $work/ready ]]; then
	echo "load.sh: the stack was not ready in 120 s" >&2
	tail -n 30 "$work/stack.log" >&2
	exit 1
fi
url=$(head -n1 "$work/ready")
echo "load.sh: stack at $url with $WORKERS workers"
status=0
"$work/load" -url "$url" -n "$N" -c "$CLIENTS" -log "$work/stack.log" || status=$?
if [[ $status -ne 0 ]]; then
	echo "load.sh: stack log tail:" >&2
	grep -v '"message":"request"' "$work/stack.log" | tail -n 20 >&2
fi
exit $status
