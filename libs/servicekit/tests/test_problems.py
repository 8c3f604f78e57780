"""Every error path answers problem+json with a stable code."""

import logging

import httpx
import pytest

from servicekit.problems import PROBLEM_MEDIA_TYPE


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"text": "x", "count": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["invalid_params"][0]["name"] == "count"


async def test_malformed_json_is_400_not_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_wrong_method_is_problem_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/echo")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_unhandled_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_domain_error_carries_code_and_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/stock")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"


async def test_products_unavailable_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["code"] == "products_unavailable"


async def test_a_503_with_a_cause_logs_the_cause(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="servicekit.problems"):
        response = await client.get("/database-refuses")

    assert response.status_code == 503
    assert "too many clients" not in response.text
    logged = "GET /database-refuses answered 503: ConnectionError: sorry, too many clients already"
    assert logged in caplog.text


async def test_a_503_without_a_cause_logs_nothing(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="servicekit.problems"):
        response = await client.get("/down")

    assert response.status_code == 503
    assert "answered 503" not in caplog.text


@pytest.mark.parametrize("path", ["/database-down", "/connection-lost"])
async def test_a_database_outage_is_503_database_unavailable(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="servicekit.problems"):
        response = await client.get(path)

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "127.0.0.1" not in response.text
    assert f"GET {path} answered 503: database unavailable" in caplog.text


async def test_a_database_error_that_is_no_outage_stays_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/constraint")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
