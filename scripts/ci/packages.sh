#!/usr/bin/env bash
# Install the programs the full suite runs for real, from Debian packages, when missing:
# nginx, Prometheus with promtool and the node, PostgreSQL and Redis exporters, the PostgreSQL
# client (pg_dump, psql, pgbench), openssl, curl, git, shellcheck, and Chromium for the browser tests
# (Playwright drives /usr/bin/chromium; no browser is ever downloaded).
set -euo pipefail

declare -A wanted=(
    [nginx]=nginx-light
    [prometheus]=prometheus
    [promtool]=prometheus
    [prometheus-node-exporter]=prometheus-node-exporter
    [prometheus-postgres-exporter]=prometheus-postgres-exporter
    [prometheus-redis-exporter]=prometheus-redis-exporter
    [pg_dump]=postgresql-client
    [psql]=postgresql-client
    [pgbench]=postgresql-client
    [openssl]=openssl
    [curl]=curl
    [git]=git
    [shellcheck]=shellcheck
    [chromium]=chromium
)

missing=()
for program in "${!wanted[@]}"; do
    if ! command -v "$program" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$program" ]]; then
        missing+=("${wanted[$program]}")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing programs; install these Debian packages: ${packages[*]}" >&2
    exit 1
fi
echo "Installing ${packages[*]} ..."
# The packages' services are not started here: the tests run their own instances on loopback.
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
