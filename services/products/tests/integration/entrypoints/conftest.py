"""An HTTP client on the products app (lifespan run), and credentials for every role."""

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from products.config import FeatureFlags, Settings
from products.main import Overrides, create_app
from servicekit.auth import mint_user_token
from servicekit.settings import Environment

Headers = dict[str, str]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Test settings: a small body limit so the limit is cheap to hit."""
    return Settings(
        environment=Environment.TESTING,
        database_url=database_url,
        reservation_ttl_seconds=900,
        sweep_interval_seconds=3600,
        max_body_bytes=4096,
        log_json=False,
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # A small bulk cap so the limit is cheap to hit.
    app = create_app(settings, Overrides(flags=FeatureFlags(max_bulk_import_size=3)))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://products/api/v1"
        ) as client,
    ):
        yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a freshly started app (lifespan included)."""
    async for client in _client(settings):
        yield client


@pytest.fixture
async def short_ttl_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app whose holds lapse after 0.2 s."""
    async for client in _client(settings.model_copy(update={"reservation_ttl_seconds": 0.2})):
        yield client


def _bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(settings: Settings) -> Headers:
    """An admin user's JWT."""
    return _bearer(mint_user_token(settings, "ada", ["admin"]))


@pytest.fixture
def user(settings: Settings) -> Headers:
    """A plain user's JWT."""
    return _bearer(mint_user_token(settings, "bob"))


@pytest.fixture
def service(settings: Settings) -> Headers:
    """The service credential of internal callers."""
    return _bearer(settings.service_token.get_secret_value())


@pytest.fixture
def expired_admin(settings: Settings) -> Headers:
    """An admin JWT that expired a minute ago."""
    return _bearer(mint_user_token(settings, "ada", ["admin"], ttl_seconds=-60))


@pytest.fixture
def forged_admin() -> Headers:
    """An admin JWT signed with the wrong secret."""
    claims = {"sub": "mallory", "roles": ["admin"], "exp": int(time.time()) + 600}
    return _bearer(jwt.encode(claims, "not-the-secret-" * 4, algorithm="HS256"))


@pytest.fixture
def unsigned_admin() -> Headers:
    """An admin JWT with ``alg: none`` and no signature."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    header = part({"alg": "none", "typ": "JWT"})
    claims = part({"sub": "mallory", "roles": ["admin"], "exp": int(time.time()) + 600})
    return _bearer(f"{header}.{claims}.")


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


ProblemCheck = Callable[[httpx.Response, int, str], dict[str, Any]]


@pytest.fixture
def problem() -> ProblemCheck:
    """Asserts a response is problem+json with a status and stable code; returns the body."""
    return _assert_problem
