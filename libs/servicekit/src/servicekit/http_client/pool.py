"""One pooled client per process for another service, on the chosen transport (ADR 0002)."""

from enum import StrEnum

import httpx
from httpx_aiohttp import AiohttpTransport

from servicekit.tracing import instrument_http_client


class HttpTransport(StrEnum):
    """The httpx transport under the pooled client (ADR 0002)."""

    HTTPX = "httpx"
    AIOHTTP = "aiohttp"


def build_transport(kind: HttpTransport, max_connections: int) -> httpx.AsyncBaseTransport:
    """The transport under the pooled client, with its connection limit.

    A client given ``transport=`` ignores its own ``limits=``, so the limit is
    set here. Service-to-service traffic: no proxies or netrc from the environment.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if kind is HttpTransport.AIOHTTP:
        return AiohttpTransport(limits=limits, trust_env=False)
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


def pooled_client(
    base_url: str,
    timeout: httpx.Timeout,
    *,
    transport: HttpTransport,
    max_connections: int,
    user_agent: str,
) -> httpx.AsyncClient:
    """The one pooled client per process (build in lifespan, ``aclose`` on shutdown)."""
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        transport=build_transport(transport, max_connections),
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": user_agent},
    )
    # With tracing on: a client span per attempt, and W3C traceparent to the server.
    instrument_http_client(client)
    return client
