#!/usr/bin/env bash
# Checks a running stack the way a user would, with curl and sox:
# synthesis succeeds within 10 s, the WAV is valid, duration grows with
# the text and falls as speed rises, and two members backed by two
# speakers of one model sound different.
#   CHORUS_URL=http://127.0.0.1:8080 scripts/smoke.sh
set -euo pipefail
url="${CHORUS_URL:-http://127.0.0.1:8080}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }

submit() { # member text speed → job id
  curl -sf -XPOST -H 'Content-Type: application/json' \
    -d "{\"member_id\":\"$1\",\"text\":\"$2\",\"speed\":$3}" "$url/api/synthesize" | json '["job_id"]'
}
fetch() { # job id name → seconds (audio saved as $tmp/name.wav)
  local st deadline=$((SECONDS + 10))
  while :; do
    st=$(curl -sf "$url/api/status?id=$1")
    case $(echo "$st" | json '["status"]') in
      succeeded) break ;;
      failed) echo "smoke: job $1 failed: $st" >&2; exit 1 ;;
    esac
    [ $SECONDS -lt $deadline ] || { echo "smoke: job $1 not done within 10 s: $st" >&2; exit 1; }
    sleep 0.2
  done
  curl -sf -o "$tmp/$2.wav" "$(echo "$st" | json '["audio_url"]')"
  sox --i -D "$tmp/$2.wav"
}

short=$(submit aria "Hello there." 1.0)
long=$(submit aria "Hello there. Thank you all for coming out tonight, it means the world to us." 1.0)
fast=$(submit aria "Hello there. Thank you all for coming out tonight, it means the world to us." 2.0)
juno=$(submit juno "Hello there." 1.0)
d_short=$(fetch "$short" short); d_long=$(fetch "$long" long); d_fast=$(fetch "$fast" fast); d_juno=$(fetch "$juno" juno)
echo "smoke: short ${d_short}s, long ${d_long}s, long at 2x ${d_fast}s, other speaker ${d_juno}s"
python3 - "$d_short" "$d_long" "$d_fast" <<'PY'
import sys
s, l, f = map(float, sys.argv[1:])
assert l > 2 * s, f"longer text must give longer audio: {s} vs {l}"
assert f < 0.7 * l, f"speed 2 must shorten the audio: {l} vs {f}"
PY
sox --i "$tmp/short.wav" | grep -q "16-bit Signed Integer PCM" || { echo "smoke: not 16-bit PCM" >&2; exit 1; }
if cmp -s "$tmp/short.wav" "$tmp/juno.wav"; then echo "smoke: two speakers gave identical audio" >&2; exit 1; fi
echo "smoke: ok"
