#!/usr/bin/env bash
# The README's operator walkthrough, run as written against a running local
# stack: the shell block between the operator-walkthrough markers of
# README.md (import a Piper export, add a member with it, set a lexicon
# entry) runs verbatim from the repository root, then the API is checked:
# the member is listed with the voice's label from its config, and a clip
# of theirs is made and its audio fetched. scripts/e2e.sh runs it on a fresh
# stack before the browser test, which then plays a clip of the member.
#
# Needs: the stack's env file (CHORUS_STACK_ENV, or .dev/stack.env), the
# bench voices in ../shared/voices (CHORUS_BENCH_VOICES names another
# folder). Without them it skips locally and fails in CI (CI set).
# Prints the member id it added on its last line ("walkthrough: member nova").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

voices="${CHORUS_BENCH_VOICES:-../shared/voices}"
if [ ! -f "$voices/bench-medium.onnx.xz" ]; then
  if [ -n "${CI:-}" ]; then
    echo "walkthrough: $voices/bench-medium.onnx.xz is missing (CI must provide ../shared/voices)" >&2
    exit 1
  fi
  echo "walkthrough: SKIPPED: no bench voice in $voices" >&2
  exit 0
fi
stack_env="${CHORUS_STACK_ENV:-.dev/stack.env}"
[ -s "$stack_env" ] || { echo "walkthrough: no $stack_env: start the stack first (make dev)" >&2; exit 1; }
url=$(sed -n 's/^CHORUS_URL=//p' "$stack_env")
[ -n "$url" ] || { echo "walkthrough: $stack_env has no CHORUS_URL" >&2; exit 1; }

# The block, exactly as the README shows it (only the voices folder may be
# pointed elsewhere). The commands find the stack through CHORUS_STACK_ENV.
block=$(awk '/<!-- operator-walkthrough:begin/{on=1; next} /<!-- operator-walkthrough:end/{on=0} on' README.md | sed '/^```/d')
[ -n "$block" ] || { echo "walkthrough: README.md has no operator-walkthrough block" >&2; exit 1; }
if [ "$voices" != "../shared/voices" ]; then
  block=${block//..\/shared\/voices/$voices}
fi
echo "walkthrough: running the README's operator block against $url"
(
  export CHORUS_STACK_ENV="$stack_env"
  unset GOOGLE_CLOUD_PROJECT CHORUS_MODELS_BUCKET
  set -x
  eval "$block"
)

# What the fan's side must show now.
export WALK_URL="$url"
python3 - <<'PY'
import json, os, sys, time, urllib.request

base = os.environ["WALK_URL"].rstrip("/")

def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)

def fail(msg):
    print(f"walkthrough: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)

members = {m["id"]: m for m in call("GET", "/api/profiles")["members"]}
nova = members.get("nova") or fail(f"nova is not among the members fans see: {sorted(members)}")
voice = nova.get("voice") or {}
if voice.get("label") != "bench (English, United States, medium)" or voice.get("demo"):
    fail(f"nova's voice is {voice}, want the bench voice labelled from its config")
if nova.get("group") != "Starlight Avenue" or not nova.get("sample_text"):
    fail(f"nova's profile: {nova}")

job = call("POST", "/api/synthesize", {"member_id": "nova", "text": "Nova is here. Thank you!", "format": "wav"})
deadline = time.time() + 180
while True:
    st = call("GET", f"/api/status?id={job['job_id']}")
    if st["status"] in ("succeeded", "failed"):
        break
    if time.time() > deadline:
        fail(f"the clip is still {st['status']} after 180 s")
    time.sleep(0.3)
if st["status"] != "succeeded":
    fail(f"the clip failed: {st.get('error')}")
with urllib.request.urlopen(st["audio_url"], timeout=30) as r:
    wav = r.read()
if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE" or len(wav) < 22050:
    fail(f"the audio is not a WAV of some length ({len(wav)} bytes)")
print(f"walkthrough: nova listed as {voice['label']!r}; her clip: {st.get('duration_seconds')} s, {len(wav)} bytes")
PY
echo "walkthrough: member nova"
