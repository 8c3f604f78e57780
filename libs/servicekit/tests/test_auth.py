"""User JWTs and the service credential: the full rejection matrix."""

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import jwt
import pytest
from pydantic import SecretStr

from servicekit.auth import identify_service_caller, mint_user_token
from servicekit.settings import Environment, ServiceSettings

ClientFor = Callable[[ServiceSettings], AbstractAsyncContextManager[httpx.AsyncClient]]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_valid_token_identifies_the_user(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = mint_user_token(settings, "alice", ["reader"])
    response = await client.get("/me", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json() == {"user_id": "alice", "roles": ["reader"]}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Basic abc"}, id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, id="garbage"),
    ],
)
async def test_missing_or_malformed_credentials_are_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_bad_signature_is_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 60}, "another-secret-of-enough-length-1234"
    )
    assert (await client.get("/me", headers=_bearer(token))).status_code == 401


async def test_expired_token_is_401(client: httpx.AsyncClient, settings: ServiceSettings) -> None:
    token = mint_user_token(settings, "alice", ttl_seconds=-10)
    response = await client.get("/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "Token has expired"


async def test_alg_none_is_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, key="", algorithm="none")
    assert (await client.get("/me", headers=_bearer(token))).status_code == 401


async def test_token_without_exp_is_401(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = jwt.encode({"sub": "alice"}, settings.jwt_secret.get_secret_value())
    assert (await client.get("/me", headers=_bearer(token))).status_code == 401


async def test_non_admin_on_admin_route_is_403(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = mint_user_token(settings, "bob", ["reader"])
    response = await client.get("/admin", headers=_bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_admin_on_admin_route_passes(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = mint_user_token(settings, "root", ["admin"])
    assert (await client.get("/admin", headers=_bearer(token))).status_code == 200


async def test_user_token_cannot_call_internal_route(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = mint_user_token(settings, "root", ["admin"])
    assert (await client.get("/internal", headers=_bearer(token))).status_code == 403


async def test_service_credential_calls_internal_route(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = settings.service_token.get_secret_value()
    assert (await client.get("/internal", headers=_bearer(token))).status_code == 200


async def test_internal_route_without_credential_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/internal")).status_code == 401


async def test_only_configured_callers_pass_and_a_caller_may_hold_two_tokens(
    client_for: ClientFor,
) -> None:
    settings = ServiceSettings(
        environment=Environment.TESTING,
        service_callers=SecretStr(f"orders={'o' * 30},orders={'n' * 30},reports={'r' * 30}"),
        service_token=SecretStr("s" * 30),
    )
    async with client_for(settings) as client:
        for token in ("o" * 30, "n" * 30, "r" * 30):
            assert (await client.get("/internal", headers=_bearer(token))).status_code == 200
        # The process's own outgoing token is not a caller's credential here.
        for token in ("s" * 30, "o" * 29, "o" * 31):
            response = await client.get("/internal", headers=_bearer(token))
            assert response.status_code == 403
            assert response.json()["code"] == "forbidden"


def test_the_caller_is_named_by_the_token_it_presents() -> None:
    settings = ServiceSettings(
        environment=Environment.TESTING,
        service_callers=SecretStr(f"orders={'o' * 30},reports={'r' * 30}"),
    )
    assert identify_service_caller("o" * 30, settings) == "orders"
    assert identify_service_caller("r" * 30, settings) == "reports"


async def test_a_service_credential_is_never_a_user_token(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    token = settings.service_token.get_secret_value()
    assert (await client.get("/me", headers=_bearer(token))).status_code == 401
