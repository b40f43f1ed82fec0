#!/usr/bin/env bash
# Offline checks of terraform/, as CI runs them (no registry, no network but
# the Go module proxy):
#   1. build and cache the google provider 8.0.0, the tls provider 4.2.1
#      and tflint from the Go module proxy (pinned versions, checked against sum.golang.org by the
#      go command; a cold build takes ~3 min, cached runs nothing),
#   2. terraform fmt -check, 3. init + validate against the real provider,
#   4. tflint, 5. terraform test (mock provider: the facts of the
#      configuration, terraform/tests), the same three for the bootstrap
#      configuration (terraform/bootstrap), 6. go test ./terraform/...:
#      configenv (tests/config_env.json, which terraform test reads, is
#      current with shared/config) and checks (the Docker context, the web
#      start script, the function archive; skipped when none of its inputs
#      changed since it passed).
# Steps 3-5 run on a scratch copy: the repository's terraform/ is never
# initialised or changed.
#
# Environment: CHORUS_CACHE (default ~/.cache/chorus) holds the binaries;
# `scripts/test-terraform.sh tools` only builds them and prints their paths.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CHORUS_CACHE:-$HOME/.cache/chorus}/terraform

# Pins. The google provider is not tagged in Go's module terms; this
# pseudo-version is the commit of the v8.0.0 release.
google_version=8.0.0
google_module=github.com/hashicorp/terraform-provider-google@v1.20.1-0.20260828184646-f3721fb45fa3
# tls 4.2.1 (tls_private_key ED25519: the callback signing keys), the
# commit of its v4.2.1 release, which Go's module terms know only as this.
tls_version=4.2.1
tls_module=github.com/hashicorp/terraform-provider-tls@v1.2.1-0.20260130152455-857b38cda3fc
tflint_module=github.com/terraform-linters/tflint@v0.64.0
terraform_min=1.11

mirror=$cache/mirror
google_bin=$mirror/registry.terraform.io/hashicorp/google/$google_version/linux_amd64/terraform-provider-google_v$google_version
tls_bin=$mirror/registry.terraform.io/hashicorp/tls/$tls_version/linux_amd64/terraform-provider-tls_v$tls_version
tflint_bin=$cache/bin/tflint-${tflint_module##*@}
tfrc=$cache/terraformrc

log() { printf 'test-terraform: %s\n' "$*" >&2; }

# go_build MODULE@VERSION DEST builds one binary into DEST unless DEST was
# already built from exactly that module version (recorded in a stamp file
# outside the mirror, which must hold nothing but the provider).
go_build() {
  local module=$1 dest=$2
  local stamp=$cache/stamps/$(basename "$dest")
  if [[ -x $dest && "$(cat "$stamp" 2>/dev/null)" == "$module" ]]; then
    return
  fi
  log "building $module (one-off, cached in $cache)"
  local gobin start=$SECONDS
  gobin=$(mktemp -d "$cache/tmp.XXXXXX")
  # Outside any module, so the project's go.mod and workspace play no part.
  (cd "$gobin" && GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$gobin" \
    go install -trimpath -ldflags='-s -w' "$module")
  mkdir -p "$(dirname "$dest")"
  mv "$gobin"/* "$dest"
  mkdir -p "$cache/stamps"
  echo "$module" >"$stamp"
  rm -rf "$gobin"
  log "built $(basename "$dest") in $((SECONDS - start)) s"
}

ensure_tools() {
  command -v terraform >/dev/null || { log "terraform $terraform_min or newer is not installed"; exit 1; }
  local have
  have=$(TF_CLI_CONFIG_FILE=/dev/null terraform version -json | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
  if [[ "$(printf '%s\n%s\n' "$terraform_min" "$have" | sort -V | head -1)" != "$terraform_min" ]]; then
    log "terraform $have is older than $terraform_min"
    exit 1
  fi
  mkdir -p "$cache"
  # Concurrent runs (several checkouts, one cache) build once.
  exec 9>"$cache/.lock"
  flock 9
  # Cold, both build at once: downloads overlap and the link steps share cores.
  go_build "$google_module" "$google_bin" &
  local google_pid=$!
  go_build "$tflint_module" "$tflint_bin" &
  local tflint_pid=$!
  go_build "$tls_module" "$tls_bin" &
  local tls_pid=$!
  wait "$google_pid" || { log "building the google provider failed"; exit 1; }
  wait "$tflint_pid" || { log "building tflint failed"; exit 1; }
  wait "$tls_pid" || { log "building the tls provider failed"; exit 1; }
  # Only the local mirror: terraform must never reach for a registry.
  cat >"$tfrc.tmp" <<TFRC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
TFRC
  mv "$tfrc.tmp" "$tfrc"
  flock -u 9
}

ensure_tools
export TF_CLI_CONFIG_FILE=$tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export CHORUS_TFLINT=$tflint_bin
unset TF_PLUGIN_CACHE_DIR
if [[ ${1:-} == tools ]]; then
  printf 'TF_CLI_CONFIG_FILE=%s\nCHORUS_TFLINT=%s\n' "$tfrc" "$tflint_bin"
  exit 0
fi

start=$SECONDS
log "terraform fmt -check"
terraform fmt -check -recursive -diff "$root/terraform"

# Before terraform test reads it; Go's test cache skips it when nothing changed.
log "go test ./terraform/configenv (tests/config_env.json is current)"
(cd "$root" && go test ./terraform/configenv/)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The module reads the topics' schemas in ../shared/message: keep the layout.
mkdir -p "$scratch/shared/message"
cp "$root"/shared/message/*.proto "$scratch/shared/message/"
tar -C "$root" --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' \
  --exclude=terraform.tfvars --exclude='*.go' --exclude=testdata -cf - terraform | tar -C "$scratch" -xf -
cd "$scratch/terraform"

log "terraform init + validate (google $google_version from $mirror)"
terraform init -backend=false -input=false -no-color >/dev/null
terraform validate -no-color

log "tflint (root and local modules: typed, documented variables and outputs among its rules)"
"$tflint_bin" --no-color --format=compact
for module in modules/*/; do
  (cd "$module" && "$tflint_bin" --no-color --format=compact --config "$scratch/terraform/.tflint.hcl")
done

log "terraform test (mock provider)"
terraform test -no-color

# bootstrap/: what the first build needs, a root configuration of its own.
cd bootstrap
log "bootstrap: terraform init + validate, tflint, terraform test"
terraform init -backend=false -input=false -no-color >/dev/null
terraform validate -no-color
"$tflint_bin" --no-color --format=compact --config ../.tflint.hcl
terraform test -no-color

cd "$root"
# terraform/checks builds in scratch copies, which Go's test cache cannot
# track; skip it when none of its inputs changed since it last passed.
inputs=$( (
  find terraform/checks terraform/tests/config_env.json web/deploy web/Dockerfile functions shared synth-job .dockerignore \
    scripts/package-functions.sh scripts/setup-ort.sh scripts/test-terraform.sh -type f -print
  ls ./*.go go.mod go.sum
) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-32)
key=$(printf '%s\n' "$inputs" "$(go version)" "CI=${CI:-}" | sha256sum | cut -c1-32)
if [[ -f $cache/passed/checks-$key ]]; then
  log "go test ./terraform/checks: inputs unchanged since it last passed, skipped"
else
  log "go test ./terraform/checks (Docker context and images, web start script, function archive)"
  go test -count=1 ./terraform/checks/
  mkdir -p "$cache/passed"
  rm -f "$cache"/passed/checks-*
  touch "$cache/passed/checks-$key"
fi

log "all Terraform checks passed in $((SECONDS - start)) s (after tools)"
