#!/usr/bin/env bash
# Maintenance mode of the nginx in front of the API (nginx/nginx.conf): while the flag file
# DIR/maintenance.on exists, nginx answers every request but /health with 503. nginx checks
# for it on each request, so no reload is needed.
#
#   scripts/maintenance.sh on|off|status [--dir DIR]
#
# DIR defaults to nginx/maintenance of this project, which docker-compose.prod.yml mounts at
# /etc/nginx/maintenance.
set -euo pipefail

USAGE="usage: scripts/maintenance.sh on|off|status [--dir DIR]"
FLAG_NAME=maintenance.on
dir="$(cd "$(dirname "$0")/.." && pwd)/nginx/maintenance"
action=""

fail() {
  echo "error: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    on | off | status)
      [ -z "$action" ] || fail "one of on, off or status, not both $action and $1 ($USAGE)"
      action=$1
      ;;
    --dir)
      if [ $# -lt 2 ] || [ -z "$2" ]; then fail "--dir needs a folder ($USAGE)"; fi
      dir=$2
      shift
      ;;
    --dir=*)
      dir=${1#--dir=}
      [ -n "$dir" ] || fail "--dir needs a folder ($USAGE)"
      ;;
    -h | --help)
      echo "$USAGE"
      exit 0
      ;;
    *)
      fail "unknown argument '$1' ($USAGE)"
      ;;
  esac
  shift
done
[ -n "$action" ] || fail "say on, off or status ($USAGE)"
[ -d "$dir" ] || fail "no folder $dir (the one nginx reads the flag from)"
[ "$action" = status ] || [ -w "$dir" ] || fail "cannot write to $dir (run as its owner)"

flag="$dir/$FLAG_NAME"
case $action in
  on)
    if [ -e "$flag" ]; then
      echo "Maintenance is already on since $(cat "$flag" 2>/dev/null || echo '?') ($flag)."
    else
      date -u +%Y-%m-%dT%H:%M:%SZ >"$flag.tmp.$$"
      mv -f "$flag.tmp.$$" "$flag"
      echo "Maintenance on: nginx answers 503 to everything but /health ($flag)."
    fi
    ;;
  off)
    if [ -e "$flag" ]; then
      rm -f "$flag"
      echo "Maintenance off: nginx passes requests to the API again."
    else
      echo "Maintenance is already off."
    fi
    ;;
  status)
    if [ -e "$flag" ]; then
      echo "Maintenance is on since $(cat "$flag" 2>/dev/null || echo '?') ($flag)."
    else
      echo "Maintenance is off."
    fi
    ;;
esac
