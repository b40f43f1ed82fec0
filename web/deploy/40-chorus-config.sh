#!/bin/sh
# Writes the web app's runtime config.json, and the security headers nginx
# sends with it, from the environment when the container starts (the nginx
# image runs /docker-entrypoint.d/*.sh before nginx), so one image serves
# every deployment. Terraform sets the variables from the function URLs and
# the functions' own limits (terraform/web.tf).
#
#   CHORUS_PROFILES_URL, CHORUS_SYNTHESIZE_URL, CHORUS_BATCH_URL,
#   CHORUS_STATUS_URL   required, http(s) URLs
#   CHORUS_MAX_TEXT_CHARS  optional, 1-10000 (default 1000)
#   CHORUS_AUDIO_RETENTION_SECONDS  optional, how long audio is kept (default 604800)
#   CHORUS_RATE_PER_MINUTE, CHORUS_RATE_BURST  optional, the API's per-client limit (60, 20)
#   CHORUS_JOB_DEADLINE_SECONDS  optional, how long the app waits for a clip (default 180)
#   CHORUS_STATUS_WAIT_SECONDS   optional, the status long-poll asked for, 0-20 (default 20)
#   CHORUS_STORAGE_ORIGIN  optional, where signed audio URLs point (default https://storage.googleapis.com)
#   CHORUS_WEB_ROOT        where config.json goes (default /usr/share/nginx/html)
#   CHORUS_NGINX_HEADERS   where the header include goes (default /etc/nginx/chorus/security-headers.conf)
#
# A missing or malformed value stops the container with a message naming
# the variable, instead of serving an app that cannot reach its API.
set -eu

root=${CHORUS_WEB_ROOT:-/usr/share/nginx/html}
fail() {
  echo "chorus-config: $*" >&2
  exit 1
}

# url NAME prints the value of variable NAME after checking it is an
# http(s) URL made only of characters that need no escaping in JSON.
url() {
  eval "v=\${$1:-}"
  [ -n "$v" ] || fail "$1 is not set"
  case $v in
  http://?* | https://?*) ;;
  *) fail "$1 must be an http(s) URL, got '$v'" ;;
  esac
  if printf '%s' "$v" | LC_ALL=C grep -q "[^A-Za-z0-9._~:/?#@!\$&'()*+,;=%-]"; then
    fail "$1 contains characters not allowed in a URL: '$v'"
  fi
  printf '%s' "$v"
}

# number NAME DEFAULT MIN MAX prints the whole number in variable NAME (or
# DEFAULT), checked to lie in MIN..MAX, without leading zeros (not JSON,
# and $((...)) would read them as octal).
number() {
  eval "v=\${$1:-$2}"
  case $v in
  '' | *[!0-9]*) fail "$1 must be a whole number, got '$v'" ;;
  esac
  n=$v
  while [ "${n#0}" != "$n" ]; do n=${n#0}; done
  [ -n "$n" ] || n=0
  if [ "${#n}" -gt 9 ] || [ "$n" -lt "$3" ] || [ "$n" -gt "$4" ]; then
    fail "$1 must be between $3 and $4, got '$v'"
  fi
  printf '%s' "$n"
}

# origin URL prints the scheme://host[:port] of an http(s) URL.
origin() {
  printf '%s' "$1" | sed -E 's#^(https?://[^/?#]+).*$#\1#'
}

max=$(number CHORUS_MAX_TEXT_CHARS 1000 1 10000)
retention=$(number CHORUS_AUDIO_RETENTION_SECONDS 604800 1 31622400)
rate=$(number CHORUS_RATE_PER_MINUTE 60 0 1000000)
burst=$(number CHORUS_RATE_BURST 20 1 1000000)
deadline=$(number CHORUS_JOB_DEADLINE_SECONDS 180 5 86400)
wait=$(number CHORUS_STATUS_WAIT_SECONDS 20 0 20)
# optional_url NAME DEFAULT is url for a variable that has a default.
optional_url() {
  eval "$1=\${$1:-$2}"
  url "$1"
}
storage=$(optional_url CHORUS_STORAGE_ORIGIN https://storage.googleapis.com)
storage=$(origin "$storage")

profiles=$(url CHORUS_PROFILES_URL)
synthesize=$(url CHORUS_SYNTHESIZE_URL)
batch=$(url CHORUS_BATCH_URL)
status=$(url CHORUS_STATUS_URL)

# The API's origins and the storage host, each once, for connect-src.
reach=$(for u in "$profiles" "$synthesize" "$batch" "$status" "$storage"; do origin "$u"; echo; done | sort -u | tr '\n' ' ')
csp="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'"
csp="$csp; connect-src 'self' ${reach% }; media-src 'self' blob: $storage"
csp="$csp; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
perms="camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), hid=(), midi=(), display-capture=(), accelerometer=(), gyroscope=(), magnetometer=(), browsing-topics=()"

headers=${CHORUS_NGINX_HEADERS:-/etc/nginx/chorus/security-headers.conf}
mkdir -p "$(dirname "$headers")"
htmp="$headers.$$"
cat >"$htmp" <<NGINX
# Written by 40-chorus-config.sh at container start; included in every location.
add_header Content-Security-Policy "$csp" always;
add_header Permissions-Policy "$perms" always;
add_header Referrer-Policy no-referrer always;
add_header X-Content-Type-Options nosniff always;
add_header X-Frame-Options DENY always;
add_header Cross-Origin-Opener-Policy same-origin always;
# HTTPS only (Cloud Run's front end says so in X-Forwarded-Proto); nginx omits an empty header.
add_header Strict-Transport-Security \$chorus_hsts always;
NGINX
chmod 0644 "$htmp"

tmp="$root/.config.json.$$"
cat >"$tmp" <<JSON
{
  "profilesUrl": "$profiles",
  "synthesizeUrl": "$synthesize",
  "batchUrl": "$batch",
  "statusUrl": "$status",
  "maxTextChars": $max,
  "audioRetentionSeconds": $retention,
  "ratePerMinute": $rate,
  "rateBurst": $burst,
  "jobDeadlineSeconds": $deadline,
  "statusWaitSeconds": $wait
}
JSON
chmod 0644 "$tmp"
mv "$htmp" "$headers"
mv "$tmp" "$root/config.json"
echo "chorus-config: wrote $root/config.json and $headers" >&2
