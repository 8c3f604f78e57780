"""What a failed attempt says (anything sent? the server unhealthy?), for retries and breaker alike."""

import aiohttp
import httpx

TRANSIENT_STATUSES = frozenset({502, 503, 504})
# Misconfiguration or a bug on the caller's side: repeating cannot help, and it says
# nothing about the health of the server.
NON_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)
# Transport failures and 5xx answers as the attempt raises them.
ATTEMPT_FAILURES = (httpx.HTTPError, aiohttp.ClientError)


class ServerError(Exception):
    """A 5xx answer: the server (or a proxy in front of it) could not serve the call."""

    def __init__(self, status: int, retry_after_header: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after_seconds(retry_after_header)


def retry_after_seconds(value: str | None) -> int:
    """A ``Retry-After`` header in whole seconds (1 when absent or not a number; at most 1 h)."""
    if value is None or not value.strip().isdigit():
        return 1
    return max(1, min(int(value), 3_600))


def nothing_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server."""
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return False
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        # httpx_aiohttp maps every aiohttp ClientConnectionError to ConnectTimeout,
        # including ServerDisconnectedError after the request was sent.
        return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    return True


def server_unhealthy(exc: BaseException) -> bool:
    """Failures that say the server is down or sick: what a breaker counts.

    A wait for one of the caller's own pooled connections (``PoolTimeout``) is
    the caller's queueing, not a server failure. A bulkhead that keeps in-flight
    calls within the pool prevents it; if it happens, it is not held against
    the server.
    """
    if isinstance(exc, (*NON_TRANSIENT, httpx.PoolTimeout)):
        return False
    return isinstance(exc, httpx.TransportError | aiohttp.ClientError | ServerError)
