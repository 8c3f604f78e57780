"""Who may call what: admin JWTs for writes, the service credential for reservations."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]
Headers = dict[str, str]

# A fixed id: parameters become test ids, and pytest-xdist workers must collect the same ones.
_ID = UUID("5f0c4a52-9d8e-4c3b-8a1e-0f6b2d7c9e11")
_ADMIN_WRITES = [
    ("POST", "/products", {"sku": "AUTH-1", "name": "N", "price": "1.00"}),
    ("PATCH", f"/products/{_ID}", {"name": "N"}),
    ("POST", f"/products/{_ID}/stock-adjustments", {"delta": 1}),
    ("POST", "/products/bulk", {"products": [{"sku": "AUTH-2", "name": "N", "price": "1.00"}]}),
]
_INTERNAL = [
    (
        "POST",
        "/reservations",
        {"reservation_key": "k", "lines": [{"product_id": str(_ID), "quantity": 1}]},
    ),
    ("POST", f"/reservations/{_ID}/confirm", None),
    ("POST", f"/reservations/{_ID}/release", None),
    ("GET", f"/reservations/{_ID}", None),
]


@pytest.mark.parametrize(("method", "url", "body"), _ADMIN_WRITES)
@pytest.mark.parametrize(
    "credential", [None, "forged_admin", "expired_admin", "unsigned_admin", "service"]
)
async def test_admin_writes_without_a_valid_user_token_are_401(
    client: httpx.AsyncClient,
    problem: Problem,
    request: pytest.FixtureRequest,
    credential: str | None,
    method: str,
    url: str,
    body: dict[str, Any],
) -> None:
    headers: Headers = request.getfixturevalue(credential) if credential else {}

    response = await client.request(method, url, json=body, headers=headers)

    problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url", "body"), _ADMIN_WRITES)
async def test_admin_writes_by_a_non_admin_are_403(
    client: httpx.AsyncClient,
    problem: Problem,
    user: Headers,
    method: str,
    url: str,
    body: dict[str, Any],
) -> None:
    response = await client.request(method, url, json=body, headers=user)

    problem(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "url", "body"), _INTERNAL)
async def test_internal_endpoints_refuse_missing_credentials_with_401(
    client: httpx.AsyncClient, problem: Problem, method: str, url: str, body: dict[str, Any] | None
) -> None:
    problem(await client.request(method, url, json=body), 401, "not_authenticated")


@pytest.mark.parametrize(("method", "url", "body"), _INTERNAL)
@pytest.mark.parametrize("credential", ["user", "admin"])
async def test_internal_endpoints_refuse_user_tokens_with_403(
    client: httpx.AsyncClient,
    problem: Problem,
    request: pytest.FixtureRequest,
    credential: str,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    headers: Headers = request.getfixturevalue(credential)

    problem(await client.request(method, url, json=body, headers=headers), 403, "forbidden")


async def test_public_reads_need_no_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/products")).status_code == 200
