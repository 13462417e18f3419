#!/usr/bin/env bash
# Install the Debian libraries the service loads at run time when missing: Pango and its
# fonts, which WeasyPrint draws the printed documents (PDFs) with.
set -euo pipefail

declare -A wanted=(
    [libpango-1.0.so.0]=libpango-1.0-0
    [libpangoft2-1.0.so.0]=libpangoft2-1.0-0
    [libharfbuzz-subset.so.0]=libharfbuzz-subset0
    [libfontconfig.so.1]=libfontconfig1
)

missing=()
for library in "${!wanted[@]}"; do
    if ! ldconfig -p 2>/dev/null | grep -q "$library"; then
        missing+=("${wanted[$library]}")
    fi
done
if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
    missing+=(fonts-dejavu-core)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing libraries for printed documents; install these Debian packages: ${missing[*]}" >&2
    exit 1
fi
echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
