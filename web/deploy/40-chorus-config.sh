#!/bin/sh
# Writes the web app's runtime config.json from the environment when the
# container starts (the nginx image runs /docker-entrypoint.d/*.sh before
# nginx), so one image serves every deployment. Terraform sets the
# variables from the function URLs (terraform/web.tf).
#
#   CHORUS_PROFILES_URL, CHORUS_SYNTHESIZE_URL, CHORUS_BATCH_URL,
#   CHORUS_STATUS_URL   required, http(s) URLs
#   CHORUS_MAX_TEXT_CHARS  optional, 1-10000 (default 1000)
#   CHORUS_WEB_ROOT        where config.json goes (default /usr/share/nginx/html)
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

max=${CHORUS_MAX_TEXT_CHARS:-1000}
case $max in
'' | *[!0-9]*) fail "CHORUS_MAX_TEXT_CHARS must be a whole number, got '$max'" ;;
esac
orig=$max
# Leading zeros are not JSON (and $((...)) would read them as octal).
while [ "${max#0}" != "$max" ]; do max=${max#0}; done
if [ -z "$max" ] || [ "${#max}" -gt 5 ] || [ "$max" -lt 1 ] || [ "$max" -gt 10000 ]; then
  fail "CHORUS_MAX_TEXT_CHARS must be between 1 and 10000, got '$orig'"
fi

profiles=$(url CHORUS_PROFILES_URL)
synthesize=$(url CHORUS_SYNTHESIZE_URL)
batch=$(url CHORUS_BATCH_URL)
status=$(url CHORUS_STATUS_URL)

tmp="$root/.config.json.$$"
cat >"$tmp" <<JSON
{
  "profilesUrl": "$profiles",
  "synthesizeUrl": "$synthesize",
  "batchUrl": "$batch",
  "statusUrl": "$status",
  "maxTextChars": $max
}
JSON
chmod 0644 "$tmp"
mv "$tmp" "$root/config.json"
echo "chorus-config: wrote $root/config.json" >&2
