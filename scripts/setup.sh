#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine: Debian packages for the Patroni lab,
# a project virtual environment (Patroni 4.x, moto, cfn-lint) and the npm dependencies from the lock file.
# Everything already present is detected and skipped, so a second run takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# FAILOVER_SETUP_PACKAGES replaces the list (the tests use it to check the messages for what is missing).
read -r -a DEBIAN_PACKAGES <<< "${FAILOVER_SETUP_PACKAGES:-patroni etcd-server haproxy postgresql-15 keepalived openssl python3-venv iproute2 procps chromium}"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

missing_debian_packages() {
  local pkg missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

install_debian_packages() {
  local missing
  missing="$(missing_debian_packages)"
  if [[ -z "$missing" ]]; then say "Debian packages present"; return; fi
  command -v apt-get >/dev/null || die "apt-get not found. Install these packages by hand, then run this again: $missing"
  [[ "$(id -u)" == 0 ]] || die "not root. Run as root, or install by hand: sudo apt-get install -y $missing"
  say "installing Debian packages: $missing"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Debian may start the packaged services where an init system runs; the lab starts its own on other ports.
  for svc in etcd haproxy keepalived patroni postgresql; do
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
}

install_python_env() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$ROOT/requirements-lab.txt" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$VENV/bin/moto_server" && -x "$VENV/bin/patroni" ]]; then
    say "Python virtual environment up to date"; return
  fi
  # Debian's interpreter, not a pyenv one first on PATH: the venv must not depend on a session's shell.
  [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: apt-get install -y python3 python3-venv"
  say "creating Python virtual environment in .venv (Patroni 4, moto, cfn-lint)"
  /usr/bin/python3 -m venv "$VENV" || die "python venv failed: apt-get install -y python3-venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements-lab.txt"
  echo "$want" > "$stamp"
}

install_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.sha256" want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then say "npm dependencies up to date"; return; fi
  command -v npm >/dev/null || die "npm not found: install Node.js 20 (apt-get install -y nodejs npm, or from nodejs.org)"
  say "installing npm dependencies from package-lock.json"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

install_debian_packages
install_python_env
install_node_modules
say "ready"
