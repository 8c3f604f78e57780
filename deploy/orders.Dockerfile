# syntax=docker/dockerfile:1
# Orders service image; products ships inside it for the local and shadow modes.
# Build from the repository root:
#   docker build -f deploy/orders.Dockerfile -t shop/orders .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# uv from PyPI, pinned to the version that wrote uv.lock: one registry for everything
RUN pip install --no-cache-dir --disable-pip-version-check "uv==0.13.9"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Third-party dependencies first: this layer is rebuilt only when the lock or a
# pyproject changes, not on every source edit. uv needs every member's pyproject
# to know the workspace, but installs only what orders depends on.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/servicekit/pyproject.toml libs/servicekit/
COPY libs/seam/pyproject.toml libs/seam/
COPY libs/cutover/pyproject.toml libs/cutover/
COPY services/products/pyproject.toml services/products/
COPY services/orders/pyproject.toml services/orders/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package=orders
COPY libs/contracts/src libs/contracts/src
COPY libs/servicekit/src libs/servicekit/src
COPY libs/seam/src libs/seam/src
COPY libs/cutover/src libs/cutover/src
COPY services/products/src services/products/src
COPY services/orders/src services/orders/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package=orders

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
# Owned by root and read-only for the service user: the process cannot rewrite its code.
COPY --from=build /app /app
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE=orders \
    APP_ENVIRONMENT=production \
    PORT=8000
WORKDIR /app
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/health/ready', timeout=2)"]
ENTRYPOINT ["docker-entrypoint"]
CMD ["serve"]
