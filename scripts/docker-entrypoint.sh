#!/usr/bin/env sh
# Container start: migrate (replicas take turns), create the first admin if none, then serve.
set -eu
dfims db upgrade
dfims bootstrap
exec "$@"
