#!/usr/bin/env bash
# Unit tests and production build of the web app (web/):
#   npm ci (skipped when node_modules already matches package-lock.json),
#   npm test (Vitest, run once), npm run build (static bundle in web/dist).
# Idempotent; prints how long it took.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/web"
start=$(date +%s)

# shellcheck source=web/tools/ensure-deps.sh
. "$root/web/tools/ensure-deps.sh"
web_deps

echo "test-web: unit tests (vitest)"
npm test --silent
echo "test-web: build"
npm run build --silent
echo "test-web: ok in $(( $(date +%s) - start ))s"
