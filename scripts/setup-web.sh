#!/usr/bin/env bash
# Installs the web app's npm dependencies from package-lock.json when they
# are missing or stale (see web/tools/ensure-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/web"
# shellcheck source=web/tools/ensure-deps.sh
. "$root/web/tools/ensure-deps.sh"
web_deps >&2
