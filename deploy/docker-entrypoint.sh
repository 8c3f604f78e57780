#!/bin/sh
# Container entrypoint shared by both service images.
#   serve (default): apply the service's migrations, then exec uvicorn so it
#                    replaces the shell and gets `docker stop`'s SIGTERM itself.
#   anything else:   exec it, e.g. `docker compose run --rm products products seed`.
# MIGRATE_ON_START=0 skips the migration step (run it as a one-off job instead
# when several replicas start at once).
set -eu

: "${SERVICE:?SERVICE must name the package to serve (set in the Dockerfile)}"
: "${PORT:?PORT must be set (set in the Dockerfile)}"

if [ "${1:-serve}" != "serve" ]; then
    exec "$@"
fi

if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
    echo "docker-entrypoint: ${SERVICE} migrate" >&2
    "$SERVICE" migrate
fi

# `serve` runs APP_WORKERS uvicorn workers (default: the container's CPUs in
# production) and sets up multiprocess metrics for them (servicekit.serve).
exec "$SERVICE" serve --host 0.0.0.0 --port "$PORT" \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --timeout-graceful-shutdown "${GRACEFUL_SHUTDOWN_SECONDS:-10}"
