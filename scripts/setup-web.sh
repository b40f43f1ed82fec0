#!/usr/bin/env bash
# Installs the web app's npm dependencies from package-lock.json when they
# are missing or stale (the lock file's hash is recorded after each install).
set -euo pipefail
cd "$(dirname "$0")/../web"
[ -f package-lock.json ] || { echo "setup-web: web/package-lock.json missing" >&2; exit 1; }
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.chorus-lock-sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup-web: npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
