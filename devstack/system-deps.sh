#!/usr/bin/env bash
# Installs the Debian packages the test stack needs when they are missing (servers, client tools,
# Chromium for browser tests) and checks the pinned terraform. Idempotent; needs root for apt.
# `system-deps.sh run` installs only what `make run` starts (Redis, MariaDB, terraform).
set -euo pipefail
profile="${1:-test}"
TERRAFORM_VERSION="${TERRAFORM_VERSION:-1.11.4}"
log() { printf '[system-deps] %s\n' "$*"; }

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-dump >/dev/null || need+=(mariadb-client)
command -v runuser >/dev/null || need+=(util-linux)
# --- part benchcopy (issue 18): mydumper/myloader, the MariaDB copy benchmark's parallel baseline ---
[ "$profile" = run ] || command -v myloader >/dev/null || need+=(mydumper)
# --- end part benchcopy ---
if [ "$profile" = test ]; then
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # Distribution (Docker Registry HTTP API v2) for the registry adapter tests.
  command -v docker-registry >/dev/null || need+=(docker-registry)
fi


if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing: ${need[*]} — run: sudo apt-get update && sudo apt-get install -y ${need[*]}"; exit 1
  fi
  log "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's postinst scripts may start system-wide servers on default ports; the stack uses its own.
fi

have_tf="$(terraform version -json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])' 2>/dev/null || true)"
if [ "$have_tf" != "$TERRAFORM_VERSION" ]; then
  log "terraform $TERRAFORM_VERSION not on PATH (found: ${have_tf:-none}); building it from the Go module proxy"
  GOBIN="${HOME}/.cache/slipway/bin/terraform-${TERRAFORM_VERSION}" go install "github.com/hashicorp/terraform@v${TERRAFORM_VERSION}" \
    && ln -sf "${HOME}/.cache/slipway/bin/terraform-${TERRAFORM_VERSION}/terraform" /usr/local/bin/terraform \
    || { log "could not provide terraform $TERRAFORM_VERSION: install it on PATH (see README)"; exit 1; }
fi
log "ok"
