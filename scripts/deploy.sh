#!/usr/bin/env bash
# Deploy the checked-out code of the Dried Fruits Inventory Management System.
#
#   scripts/deploy.sh [--no-backup]            Docker Compose (docker-compose.prod.yml)
#   scripts/deploy.sh --local [--no-backup] [--root DIR] [--env-file FILE]
#                     [--replicas N] [--base-port PORT] [--host ADDRESS] [--workers N]
#                     [--health-timeout SECONDS]
#
# Steps: safety backup (unless --no-backup), install the locked dependencies, migrate, restart
# the API replicas one at a time, each waited for on /health and /api/v1/health/database.
# When the migration fails the database goes back to where it was (Alembic's own transaction
# on PostgreSQL, else the safety backup); when a new replica is not healthy every replica goes
# back to the previous release and the database to the previous revision. Exits non-zero then.
#
# --local runs on this host: each release is unpacked from git HEAD under DIR/releases
# (default /srv/dfims), with its own .venv; DIR/current points at the live one; the replicas
# are gunicorn processes on ADDRESS:PORT, ADDRESS:PORT+1, ... with pid files in DIR/run;
# settings come from FILE (default DIR/shared/.env); data, logs and backups live in DIR/shared.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "deploy: $*"; }
die() { echo "deploy: error: $*" >&2; exit 1; }
usage() { awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }

mode=compose
backup=1
root="${DEPLOY_ROOT:-/srv/dfims}"
env_file=""
replicas=3
base_port=8001
host=127.0.0.1
workers="${WEB_CONCURRENCY:-2}"
health_timeout=90
keep_releases=5

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || { echo "deploy: error: $1 needs a value" >&2; exit 2; }; }
need_number() { [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || { echo "deploy: error: $1 needs a whole number above 0, not '$2'" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-backup) backup=0 ;;
        --local) mode=local ;;
        --root) need_value "$@"; root="$2"; shift ;;
        --env-file) need_value "$@"; env_file="$2"; shift ;;
        --replicas) need_value "$@"; need_number "$1" "$2"; replicas="$2"; shift ;;
        --base-port) need_value "$@"; need_number "$1" "$2"; base_port="$2"; shift ;;
        --host) need_value "$@"; host="$2"; shift ;;
        --workers) need_value "$@"; need_number "$1" "$2"; workers="$2"; shift ;;
        --health-timeout) need_value "$@"; need_number "$1" "$2"; health_timeout="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "deploy: error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Waits until every URL answers 200, at most health_timeout seconds; with a pid file, gives
# up as soon as that process is gone.
wait_healthy() {  # [--pid-file FILE] URL...
    local deadline=$((SECONDS + health_timeout)) url pid_file=""
    if [[ "$1" == --pid-file ]]; then pid_file="$2"; shift 2; fi
    for url in "$@"; do
        until curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; do
            [[ $SECONDS -lt $deadline ]] || return 1
            if [[ -n "$pid_file" && $SECONDS -gt $((deadline - health_timeout + 2)) ]]; then
                [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null || return 1
            fi
            sleep 1
        done
    done
}

# The revision the database is at, from 'dfims db current': "none" before the first migration;
# fails (one line on stderr) when the database cannot be read.
revision_of() {
    local out err errors
    errors="$(mktemp)"
    if out="$("$@" db current 2>"$errors")"; then
        rm -f "$errors"
        echo "${out%% *}"
        return 0
    fi
    err="$(grep -v '^\s*$' "$errors" | tail -n 1)"
    rm -f "$errors"
    if [[ "$err" == *"no schema yet"* ]]; then echo none; return 0; fi
    echo "deploy: error: cannot read the database revision: ${err:-no answer}" >&2
    return 1
}

########################################################################################
# Host: releases under $root, gunicorn replicas with pid files.
########################################################################################
local_deploy() {
    mkdir -p "$root/releases" "$root/run" "$root/shared"
    root="$(cd "$root" && pwd)"
    env_file="${env_file:-$root/shared/.env}"
    [[ -f "$env_file" ]] || die "settings file $env_file not found (copy .env.prod.example there and fill it in)"
    exec 9>"$root/run/deploy.lock"
    flock -n 9 || die "another deploy is running (lock $root/run/deploy.lock)"

    set -a
    DATA_DIR="$root/shared/data" LOG_DIR="$root/shared/logs" BACKUP_DIR="$root/shared/backups"
    UPLOAD_DIR="$root/shared/data/uploads"
    # shellcheck disable=SC1090
    source "$env_file"
    # The replicas sit behind this host's nginx, which connects from loopback: its
    # X-Forwarded-For names the client (an explicit FORWARDED_ALLOW_IPS, even empty, wins).
    FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS-127.0.0.1}"
    set +a
    mkdir -p "$DATA_DIR" "$LOG_DIR" "$BACKUP_DIR" "$UPLOAD_DIR"

    local previous="" release commit uv
    [[ -L "$root/current" ]] && previous="$(readlink -f "$root/current")"
    commit="$(git -C "$here" rev-parse --short=12 HEAD)" || die "$here is not a git checkout"
    release="$root/releases/$(date -u +%Y%m%d%H%M%S)-$commit"
    [[ -e "$release" ]] && die "release $release exists already; try again in a second"
    if [[ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]]; then
        say "note: uncommitted changes in $here are not deployed (releases come from HEAD)"
    fi

    say "release $commit -> $release"
    mkdir -p "$release"
    git -C "$here" archive --format=tar HEAD | tar -x -C "$release"
    echo "$commit" >"$release/REVISION"

    uv="${UV:-$(command -v uv || echo "$here/.tools/bin/uv")}"
    [[ -x "$uv" ]] || die "uv is not installed (run 'make install' once)"
    say "installing locked dependencies"
    (cd "$release" && UV_PYTHON_DOWNLOADS=never UV_PYTHON="${UV_PYTHON:-python3}" \
        "$uv" sync --frozen --no-dev --quiet) \
        || { rm -rf "$release"; die "dependencies did not install; nothing changed"; }
    local dfims="$release/.venv/bin/dfims"

    local before
    before="$(cd "$release" && revision_of "$dfims")" || { rm -rf "$release"; exit 1; }
    local safety=""
    if [[ $backup == 1 && "$before" == none ]]; then
        say "no database schema yet: nothing to back up"
    elif [[ $backup == 1 ]]; then
        say "safety backup"
        local out
        out="$(cd "$release" && "$dfims" backup create --skip-cleanup)" \
            || { rm -rf "$release"; die "the safety backup failed; nothing changed"; }
        safety="$(sed -n 's/^Database: \(.*\.sql\.gz\) (.*/\1/p' <<<"$out")"
        say "safety backup: $safety"
    fi

    say "migrating (database at $before)"
    if ! (cd "$release" && "$dfims" db upgrade); then
        local after
        after="$(cd "$release" && revision_of "$dfims")" || after=unknown
        if [[ "$after" == "$before" && "${DATABASE_URL:-}" == postgresql* ]]; then
            say "the migration failed and PostgreSQL rolled it back: the database is as it was"
        elif [[ -n "$safety" ]]; then
            say "the migration failed: restoring the database from $safety"
            (cd "$release" && "$dfims" backup restore "$safety" --yes) \
                || die "the restore failed too; restore $safety by hand (scripts/backup.sh --restore)"
        else
            die "the migration failed (database at $after, was $before) and there is no safety backup to restore"
        fi
        rm -rf "$release"
        die "the migration failed; the running release was left untouched"
    fi
    local migrated
    migrated="$(cd "$release" && revision_of "$dfims")" || migrated=unknown
    # The first admin, from DFIMS_ADMIN_EMAIL / DFIMS_ADMIN_PASSWORD, as the container does.
    (cd "$release" && "$dfims" bootstrap) \
        || say "warning: no first admin; create one with 'dfims users create-admin'"

    local i port failed=""
    for ((i = 0; i < replicas; i++)); do
        port=$((base_port + i))
        say "replica $((i + 1))/$replicas on $host:$port"
        stop_replica "$port"
        start_replica "$release" "$port"
        if ! wait_healthy --pid-file "$(pid_file "$port")" \
            "http://$host:$port/health" "http://$host:$port/api/v1/health/database"; then
            failed="$port"
            break
        fi
    done

    if [[ -n "$failed" ]]; then
        say "replica on port $failed is not healthy; its log: $LOG_DIR/gunicorn-$failed.log"
        if [[ -z "$previous" ]]; then
            for ((i = 0; i < replicas; i++)); do stop_replica $((base_port + i)); done
            die "the first release is not healthy; nothing to roll back to"
        fi
        if [[ "$migrated" != "$before" ]]; then
            say "taking the database back to $before"
            if ! (cd "$release" && "$dfims" db downgrade "$before"); then
                [[ -n "$safety" ]] || die "the downgrade failed and there is no safety backup"
                say "the downgrade failed: restoring the database from $safety"
                (cd "$release" && "$dfims" backup restore "$safety" --yes) \
                    || die "the restore failed too; restore $safety by hand"
            fi
        fi
        say "rolling back to $(cat "$previous/REVISION" 2>/dev/null || echo "$previous")"
        for ((port = base_port; port <= failed; port++)); do
            stop_replica "$port"
            start_replica "$previous" "$port"
            wait_healthy "http://$host:$port/health" || die "the previous release is not healthy on port $port either"
        done
        rm -rf "$release"
        die "deploy of $commit failed; rolled back to the previous release"
    fi

    ln -sfn "$release" "$root/current.new" && mv -T "$root/current.new" "$root/current"
    # Keep the newest releases (the live one among them) for a quick rollback.
    local -a releases=("$root"/releases/*/)
    for ((i = 0; i < ${#releases[@]} - keep_releases; i++)); do
        [[ "$(readlink -f "${releases[i]}")" == "$release" ]] || rm -rf "${releases[i]}"
    done
    say "deployed $commit: $replicas replica(s) healthy, database at $migrated"
}

pid_file() { echo "$root/run/api-$1.pid"; }

start_replica() {  # release, port
    local release="$1" port="$2" metrics="$root/run/metrics-$2"
    mkdir -p "$metrics"
    (cd "$release" && PROMETHEUS_MULTIPROC_DIR="$metrics" WEB_CONCURRENCY="$workers" \
        BIND="$host:$port" "$release/.venv/bin/gunicorn" -c gunicorn.conf.py \
        --pid "$(pid_file "$port")" --daemon --error-logfile "$LOG_DIR/gunicorn-$port.log" \
        app.main:app 9>&-)
}

stop_replica() {  # port: SIGTERM, then SIGKILL after the graceful timeout
    local file pid
    file="$(pid_file "$1")"
    [[ -f "$file" ]] || return 0
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 40))
        while kill -0 "$pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

########################################################################################
# Docker Compose: images tagged per release, containers replaced one at a time.
########################################################################################
compose_deploy() {
    cd "$here"
    local compose_file="docker-compose.prod.yml" image="dfims-api"
    local -a dc
    if command -v docker-compose >/dev/null 2>&1; then dc=(docker-compose -f "$compose_file")
    elif command -v docker >/dev/null 2>&1; then dc=(docker compose -f "$compose_file")
    else die "Docker Compose is not installed; on a host without Docker use --local"; fi
    [[ -f .env.prod ]] || die ".env.prod not found (copy .env.prod.example and fill it in)"

    local safety=""
    if [[ $backup == 1 ]]; then
        say "safety backup"
        local out
        out="$("${dc[@]}" exec -T api scripts/backup.sh --skip-cleanup)" || die "the safety backup failed; nothing changed"
        safety="$(sed -n 's/^Database: \(.*\.sql\.gz\) (.*/\1/p' <<<"$out")"
        say "safety backup: $safety"
    fi

    docker image inspect "$image:latest" >/dev/null 2>&1 && docker image tag "$image:latest" "$image:previous"
    say "building the image (dependencies from uv.lock)"
    "${dc[@]}" build api || die "the image did not build; nothing changed"

    # One-off containers of the new image, without the entrypoint's own migration.
    local -a new_dfims=("${dc[@]}" run --rm --no-deps -T --entrypoint dfims api)
    local before migrated
    before="$(revision_of "${dc[@]}" exec -T api dfims)"
    say "migrating (database at $before)"
    if ! "${new_dfims[@]}" db upgrade; then
        if [[ "$(revision_of "${new_dfims[@]}")" != "$before" && -n "$safety" ]]; then
            "${dc[@]}" exec -T api scripts/backup.sh --restore "$safety" --yes || die "the restore failed too; restore $safety by hand"
        fi
        docker image tag "$image:previous" "$image:latest"
        die "the migration failed; the running containers were left untouched"
    fi
    migrated="$(revision_of "${new_dfims[@]}")"

    local -a old
    mapfile -t old < <("${dc[@]}" ps -q api)
    local count=${#old[@]} id new
    [[ $count -gt 0 ]] || count=$replicas
    for id in "${old[@]}"; do
        "${dc[@]}" up -d --no-deps --no-recreate --scale api=$((count + 1)) api
        new="$(comm -13 <(printf '%s\n' "${old[@]}" | sort) <("${dc[@]}" ps -q api | sort) | head -n1)"
        if ! wait_container "$new"; then
            say "the new container is not healthy; rolling back"
            docker rm -f "$new" >/dev/null
            if [[ "$migrated" != "$before" ]]; then
                "${new_dfims[@]}" db downgrade "$before" \
                    || { [[ -n "$safety" ]] && "${dc[@]}" exec -T api scripts/backup.sh --restore "$safety" --yes; } \
                    || die "the database could not be taken back to $before; restore $safety by hand"
            fi
            docker image tag "$image:previous" "$image:latest"
            # Containers already replaced run the new image: all of them start again from the old.
            "${dc[@]}" up -d --no-deps --force-recreate --scale api="$count" api
            "${dc[@]}" exec -T nginx nginx -s reload
            die "deploy failed; rolled back to the previous image"
        fi
        docker stop "$id" >/dev/null && docker rm "$id" >/dev/null
        "${dc[@]}" exec -T nginx nginx -s reload
    done
    say "deployed: $count replica(s) healthy, database at $migrated"
}

wait_container() {  # id: the image's healthcheck, then the database check inside it
    local deadline=$((SECONDS + health_timeout)) state
    while [[ $SECONDS -lt $deadline ]]; do
        state="$(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null || echo gone)"
        if [[ "$state" == healthy ]]; then
            docker exec "$1" curl -fsS -o /dev/null http://127.0.0.1:8000/api/v1/health/database && return 0
        fi
        [[ "$state" == gone || "$state" == unhealthy ]] && return 1
        sleep 2
    done
    return 1
}

if [[ $mode == local ]]; then local_deploy; else compose_deploy; fi
