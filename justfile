# Every task a person or CI runs. `just --list` shows them.

set dotenv-load := false
set positional-arguments := true

# Show the recipes
default:
    @just --list

# Install the workspace (all packages + dev tools) into .venv
sync:
    uv sync --frozen

# Start the whole stack on SQLite files: products + orders (http mode; --mode local|shadow|canary), migrated and seeded
dev *args: sync
    uv run python -m deploy.dev "$@"

# Change the run-time flags of the dev stack (orders' ./data/orders.db): just flags show | set NAME=VALUE... --reason R | history
flags *args: sync
    @# The running orders (ORDERS_URL, default just dev's) says which products clients it built.
    APP_ENVIRONMENT="${APP_ENVIRONMENT:-development}" uv run --frozen orders flags --service-url "${ORDERS_URL:-http://127.0.0.1:8000}" "$@"

# Orders alone in local (monolith) mode over the same SQLite data
dev-local: sync
    uv run python -m deploy.dev --local

# Run the full test suite (unit, PostgreSQL, integration) on 2 workers (TEST_WORKERS=N; 0: serially)
test *args: sync
    uv run pytest -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"

# ruff check + ruff format --check + mypy strict + import-linter
lint: sync
    uv run ruff check .
    uv run ruff format --check .
    uv run mypy libs services tests deploy scripts bench
    uv run lint-imports

# Format and autofix
fmt: sync
    uv run ruff format .
    uv run ruff check --fix .

# Apply both services' migrations (APP_* settings as for the services; development unless APP_ENVIRONMENT says otherwise)
migrate: sync
    APP_ENVIRONMENT="${APP_ENVIRONMENT:-development}" uv run products migrate
    APP_ENVIRONMENT="${APP_ENVIRONMENT:-development}" uv run orders migrate

# Load the demo catalogue into the products database (idempotent)
seed: sync
    APP_ENVIRONMENT="${APP_ENVIRONMENT:-development}" uv run products seed

# Mint a dev user JWT signed with the key `just dev` publishes: just token USER_ID [ROLES...]  e.g. just token alice admin (--hs256: with APP_JWT_SECRET); for `just up`'s dev-idp: just token --up USER_ID [ROLES...]
token *args:
    #!/usr/bin/env sh
    set -eu
    if [ "${1:-}" = "--up" ]; then
        shift
        [ "$#" -gt 0 ] || set -- demo-user
        # Signed inside the dev-idp container, with its key, issuer and audience.
        exec {{compose}} exec -T dev-idp python -m servicekit.devidp token "$@"
    fi
    [ "$#" -gt 0 ] || set -- demo-user
    APP_ENVIRONMENT="${APP_ENVIRONMENT:-development}" exec uv run --frozen python -m servicekit.token "$@"

# docker compose with the stack's secrets (deploy/.env; see docker-compose.yml)
compose := "docker compose --env-file deploy/.env"
compose_all := compose + " --profile monolith --profile shadow --profile tracing"

# Write deploy/.env from deploy/.env.example with fresh secrets (never overwrites)
env:
    uv run --no-project python -m deploy.envfile

# Build and start postgres, rabbitmq, the dev identity provider, products, orders (http mode) and the orders worker in Docker; waits until healthy
up: env
    {{compose_all}} stop orders-monolith orders-shadow
    {{compose}} up -d --build --wait postgres rabbitmq dev-idp products orders orders-worker

# Monolith stage in Docker: postgres + orders in local mode, no products container
up-monolith: env
    {{compose_all}} stop orders orders-worker orders-shadow products
    {{compose_all}} up -d --build --wait postgres dev-idp orders-monolith

# Shadow mode in Docker: postgres + products + orders comparing local and HTTP reads
up-shadow: env
    {{compose_all}} stop orders orders-worker orders-monolith
    {{compose_all}} up -d --build --wait postgres dev-idp products orders-shadow

# http-mode stack with tracing on, plus an OpenTelemetry Collector and Jaeger (UI on :16686)
up-tracing: env
    {{compose_all}} stop orders-monolith orders-shadow
    OTEL_TRACES_EXPORTER=otlp {{compose_all}} up -d --build --wait postgres dev-idp products orders otel-collector jaeger

# Stop and remove the Docker stack (keeps the database volume; `just down -v` drops it)
down *args:
    {{compose_all}} down "$@"

# Follow the Docker stack's logs: just logs [SERVICE...]
logs *args:
    {{compose_all}} logs -f "$@"

# End-to-end benchmark with wrk (~8 min; needs PostgreSQL, TEST_DATABASE_URL or local default): just bench [--scaling] [--seconds N ...]
bench *args: sync
    @command -v wrk >/dev/null || { if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else echo "wrk is missing: install it with 'sudo apt-get install -y wrk' (or 'brew install wrk'), then run 'just bench' again" >&2; exit 1; fi; }
    uv run python -m bench.e2e "$@"

# Orders → products HTTP transport micro-benchmark (~1 min): just bench-client [--rounds N ...]
bench-client *args: sync
    uv run python bench/client_transport.py "$@"

# Render every Kubernetes overlay (deploy/k8s) into build/k8s/ and check it: schemas, policies, connection budget
k8s *args: sync
    uv run python -m deploy.k8s_check --out build/k8s "$@"

# Export both services' OpenAPI documents and the events' AsyncAPI document to libs/contracts (commit them with the change)
openapi: sync
    uv run python -m scripts.export_openapi
    uv run python -m scripts.export_asyncapi

# Start-to-ready time of both services as `just dev` starts them (~1 min): just bench-startup [--runs N] [--no-bytecode]
bench-startup *args: sync
    uv run python -m bench.startup "$@"
