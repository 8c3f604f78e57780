"""``just env``: deploy/.env from the example, with fresh secrets, never overwritten."""

import itertools
import stat
from pathlib import Path

from deploy.envfile import EXAMPLE, render, write


def test_render_fills_empty_assignments_and_keeps_everything_else() -> None:
    counter = itertools.count(1)

    rendered = render("# comment\nA=\nB=kept\nC=  \n\n", lambda: f"secret-{next(counter)}")

    assert rendered == "# comment\nA=secret-1\nB=kept\nC=secret-2\n\n"


def test_written_file_has_fresh_distinct_secrets_for_every_empty_example_value(
    tmp_path: Path,
) -> None:
    target = tmp_path / ".env"

    assert write(EXAMPLE, target)

    values = dict(line.split("=", 1) for line in target.read_text().splitlines() if "=" in line)
    filled = [
        values[key] for key in ("POSTGRES_PASSWORD", "ORDERS_DB_PASSWORD", "APP_SERVICE_TOKEN")
    ]
    assert len(set(filled)) == 3
    assert all(len(value) >= 32 for value in filled)
    assert values["APP_ENVIRONMENT"] == "production"
    # The identity provider is configured, not generated: no secret signs user tokens here.
    # Out of the box it is compose's dev-idp, on the compose network.
    assert "APP_JWT_SECRET" not in values
    assert values["APP_JWT_JWKS_URL"] == "http://dev-idp:8080/.well-known/jwks.json"
    assert values["APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION"] == "true"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_existing_env_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    target.write_text("APP_SERVICE_TOKEN=mine\n")

    assert not write(EXAMPLE, target)
    assert target.read_text() == "APP_SERVICE_TOKEN=mine\n"
