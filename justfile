# Every task a person or CI runs. `just --list` shows them.

set dotenv-load := false
set positional-arguments := true

export PYTHONDONTWRITEBYTECODE := "1"

# Show the recipes
default:
    @just --list

# Install the workspace (all packages + dev tools) into .venv
sync:
    uv sync --frozen

# Start the whole stack on SQLite files: products + orders (http mode), migrated and seeded
dev: sync
    uv run python -m deploy.dev

# Orders alone in local (monolith) mode over the same SQLite data
dev-local: sync
    uv run python -m deploy.dev --local

# Run the full test suite (unit, PostgreSQL, integration)
test *args: sync
    uv run pytest "$@"

# ruff check + ruff format --check + mypy strict + import-linter
lint: sync
    uv run ruff check .
    uv run ruff format --check .
    uv run mypy libs/contracts/src libs/servicekit/src services/products/src services/orders/src deploy
    uv run lint-imports

# Format and autofix
fmt: sync
    uv run ruff format .
    uv run ruff check --fix .

# Apply both services' migrations (APP_* settings as for the services)
migrate: sync
    uv run products migrate
    uv run orders migrate

# Load the demo catalogue into the products database (idempotent)
seed: sync
    uv run products seed

# Mint a dev JWT: just token USER_ID [ROLES...]  e.g. just token alice admin
token user="demo-user" *roles:
    uv run --frozen python -m servicekit.token "{{user}}" {{roles}}
