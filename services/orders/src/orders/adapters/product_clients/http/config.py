"""The knobs of the HTTP product client, read from orders' settings in one place."""

from dataclasses import dataclass

from pydantic import SecretStr

from orders.config import Settings
from servicekit.http_client.pool import HttpTransport
from servicekit.http_client.retries import RetryPolicy


@dataclass(frozen=True, slots=True)
class HttpClientConfig:
    """Where products is, how to reach it, and how long to wait (ADR 0002, 0003, 0009, 0024)."""

    base_url: str
    service_token: SecretStr
    transport: HttpTransport
    connect_timeout: float
    read_timeout: float
    pool_timeout: float
    max_connections: int
    queue_timeout: float
    deadline_seconds: float
    read_deadline_seconds: float
    hang_seconds: float
    retry: RetryPolicy
    breaker_failure_threshold: int
    breaker_reset_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "HttpClientConfig":
        """The client configuration from ``APP_PRODUCTS_*`` and ``APP_SERVICE_TOKEN``."""
        return cls(
            base_url=settings.products_url,
            service_token=settings.service_token,
            transport=settings.products_transport,
            connect_timeout=settings.products_connect_timeout,
            read_timeout=settings.products_read_timeout,
            pool_timeout=settings.products_pool_timeout,
            max_connections=settings.products_max_connections,
            queue_timeout=settings.products_queue_timeout,
            deadline_seconds=settings.products_deadline_seconds,
            read_deadline_seconds=settings.products_read_deadline_seconds,
            hang_seconds=settings.products_hang_seconds,
            retry=RetryPolicy(
                max_attempts=settings.products_max_attempts,
                initial_backoff=settings.products_retry_initial_backoff,
                max_backoff=settings.products_retry_max_backoff,
            ),
            breaker_failure_threshold=settings.products_breaker_failure_threshold,
            breaker_reset_seconds=settings.products_breaker_reset_seconds,
        )
