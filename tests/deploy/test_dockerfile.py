"""Reading Dockerfiles and .dockerignore the way the compose checker needs."""

import pytest

from deploy.compose_check import ROOT
from deploy.dockerfile import ignore_patterns, is_ignored, load, parse

_DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
ENV A=1 \\
    B="two words"
COPY pyproject.toml uv.lock ./
COPY --chown=app libs/x/src libs/x/src
FROM python:3.11-slim
COPY --from=build /app /app
COPY ["deploy/entry.sh", "/usr/local/bin/entry"]
ENV LEGACY value with spaces
EXPOSE 8001/tcp 9000
HEALTHCHECK --interval=10s \\
    CMD ["python", "-c", "probe('http://127.0.0.1:8001/health/ready')"]
"""


def test_parse_collects_env_ports_copy_sources_and_healthcheck() -> None:
    parsed = parse(_DOCKERFILE)

    assert parsed.env == {"A": "1", "B": "two words", "LEGACY": "value with spaces"}
    assert parsed.exposed == {8001, 9000}
    assert parsed.copy_sources == ["pyproject.toml", "uv.lock", "libs/x/src", "deploy/entry.sh"]
    assert parsed.healthchecks == [
        '["python", "-c", "probe(\'http://127.0.0.1:8001/health/ready\')"]'
    ]


@pytest.mark.parametrize(
    ("name", "package", "port"),
    [("products.Dockerfile", "products", "8001"), ("orders.Dockerfile", "orders", "8000")],
)
def test_service_images_declare_package_port_and_healthcheck(
    name: str, package: str, port: str
) -> None:
    parsed = load(ROOT / "deploy" / name)

    assert parsed.env["SERVICE"] == package
    assert parsed.env["PORT"] == port
    # The settings default is production too; the image says so on purpose.
    assert parsed.env["APP_ENVIRONMENT"] == "production"
    assert int(port) in parsed.exposed
    assert len(parsed.healthchecks) == 1
    assert f"http://127.0.0.1:{port}/health/ready" in parsed.healthchecks[0]


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("services/products/src", False),
        ("libs/servicekit/src/servicekit/app.py", False),
        ("deploy/docker-entrypoint.sh", False),
        ("uv.lock", False),
        ("services/products/tests/test_api.py", True),
        ("deploy/.env", True),
        (".env", True),
        ("data/products.db", True),
        ("libs/contracts/src/shop_contracts/__pycache__", True),
    ],
)
def test_repository_dockerignore_keeps_sources_and_drops_secrets_and_state(
    path: str, ignored: bool
) -> None:
    assert is_ignored(path, ignore_patterns(ROOT)) is ignored


def test_a_negated_rule_re_includes_a_path() -> None:
    patterns = ["docs", "!docs/keep.md"]

    assert is_ignored("docs/other.md", patterns)
    assert not is_ignored("docs/keep.md", patterns)


def test_parse_reads_the_user_of_the_last_stage_and_its_uid() -> None:
    parsed = parse(
        "FROM python:3.11-slim AS build\nUSER builder\n"
        "FROM python:3.11-slim\n"
        "RUN groupadd --system --gid 10001 app \\\n"
        "    && useradd --system --uid 10001 --gid app --no-create-home app\n"
        "USER app\n"
    )

    assert parsed.user == "app"
    assert parsed.uid == 10001


def test_a_stage_without_user_runs_as_root_whatever_an_earlier_stage_said() -> None:
    parsed = parse("FROM a AS build\nRUN useradd --uid 5 app\nUSER app\nFROM b\n")

    assert parsed.user is None
    assert parsed.uid is None


@pytest.mark.parametrize("name", ["products.Dockerfile", "orders.Dockerfile"])
def test_service_images_run_as_a_numeric_non_root_user(name: str) -> None:
    assert load(ROOT / "deploy" / name).uid == 10001
