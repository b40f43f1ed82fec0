# Sourced by scripts/test-web.sh and scripts/e2e-web.sh (run in web/): installs web/node_modules from
# package-lock.json with `npm ci`, unless node_modules was already installed
# from this exact lock file (its sha256 is kept in node_modules/.chorus-lock.sha256).

web_deps() {
  local want have=""
  command -v npm >/dev/null || { echo "web-deps: npm not found (need Node.js >= 20.19 with npm)" >&2; return 1; }
  want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
  [ -f node_modules/.chorus-lock.sha256 ] && have="$(cat node_modules/.chorus-lock.sha256)"
  if [ "$want" = "$have" ]; then
    echo "web-deps: node_modules matches package-lock.json"
    return 0
  fi
  echo "web-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.chorus-lock.sha256
}
