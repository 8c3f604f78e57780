"""Which failed attempts are retried, and under which reason."""

import httpx
import pytest

from servicekit.http_client.retries import retry_reason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("x"), "connect"),
        (httpx.ConnectTimeout("x"), "connect"),
        (httpx.PoolTimeout("x"), "connect"),
        (httpx.ReadTimeout("x"), "timeout"),
        (httpx.WriteTimeout("x"), "timeout"),
        (httpx.ReadError("x"), "network"),
        (httpx.RemoteProtocolError("x"), "network"),
        (httpx.UnsupportedProtocol("x"), None),
        (httpx.LocalProtocolError("x"), None),
        (httpx.DecodingError("x"), None),
        (ValueError("x"), None),
    ],
)
def test_retry_classification(error: BaseException, expected: str | None) -> None:
    assert retry_reason(error) == expected
