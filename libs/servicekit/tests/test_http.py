"""Request id, security headers and the body size limit."""

from collections.abc import AsyncIterator

import httpx


async def test_request_id_is_minted_when_absent(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert len(response.headers["x-request-id"]) == 32


async def test_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"


async def test_security_headers_are_set(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_declared_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"text": "x" * 5000, "count": 1})
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_streamed_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024

    response = await client.post(
        "/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_body_within_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"text": "hello", "count": 2})
    assert response.status_code == 200
    assert response.json() == {"text": "hello", "count": 2}


async def test_metrics_endpoint_reports_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'route="/health/live"' in response.text
    assert 'service="kit-test"' in response.text


async def test_readiness_without_checks_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
