#!/usr/bin/env bash
# Back up, verify or restore the Dried Fruits Inventory Management System.
#
#   scripts/backup.sh                        database + uploads + logs, then expire old backups
#   scripts/backup.sh --skip-logs --skip-cleanup
#   scripts/backup.sh --verify [FILE]        check the newest (or FILE) by restoring it aside
#   scripts/backup.sh --restore FILE [--with-uploads] [--yes] [--health-url URL]
#
# Backups go to $BACKUP_DIR (default: backups/ in the project), kept $BACKUP_RETENTION_DAYS
# days (default 30). Safe from cron (0 2 * * *): it needs no terminal and exits non-zero on
# any failure, with one line on stderr.
set -euo pipefail

caller="$PWD"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -n "${DFIMS:-}" ]]; then
    dfims="$DFIMS"
elif [[ -x "$here/.venv/bin/dfims" ]]; then
    dfims="$here/.venv/bin/dfims"
elif command -v dfims >/dev/null 2>&1; then
    dfims="$(command -v dfims)"
else
    echo "error: the dfims command is not installed; run 'make install' first" >&2
    exit 1
fi

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

mode=create
file=""
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --skip-logs|--skip-cleanup) args+=("$1") ;;
        --verify)
            mode=verify
            if [[ $# -gt 1 && "$2" != --* ]]; then file="$2"; shift; fi
            ;;
        --restore)
            mode=restore
            if [[ $# -lt 2 || "$2" == --* ]]; then
                echo "error: --restore needs the backup file to restore" >&2
                exit 2
            fi
            file="$2"
            shift
            ;;
        --with-uploads|--yes) args+=("$1") ;;
        --health-url)
            if [[ $# -lt 2 ]]; then echo "error: --health-url needs a URL" >&2; exit 2; fi
            args+=("$1" "$2")
            shift
            ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# FILE is relative to where the script was called from; the service runs from the project.
if [[ -n "$file" && "$file" != /* ]]; then file="$caller/$file"; fi
cd "$here"

case "$mode" in
    create) exec "$dfims" backup create "${args[@]}" ;;
    verify) exec "$dfims" backup verify ${file:+"$file"} ;;
    restore) exec "$dfims" backup restore "$file" "${args[@]}" ;;
esac
