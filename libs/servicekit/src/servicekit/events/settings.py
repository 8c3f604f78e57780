"""Event bus settings, mixed into each service's ``Settings`` (``APP_`` prefix)."""

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from servicekit.settings import APP_SETTINGS
from shop_contracts.events import EVENTS_EXCHANGE


class EventBusMode(StrEnum):
    """Where integration events go: handlers in this process, or RabbitMQ."""

    LOCAL = "local"
    RABBITMQ = "rabbitmq"


class EventBusSettings(BaseSettings):
    """``APP_EVENT_BUS`` and the broker it talks to in ``rabbitmq`` mode."""

    model_config = APP_SETTINGS

    event_bus: EventBusMode = EventBusMode.LOCAL
    rabbitmq_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    events_exchange: str = Field(default=EVENTS_EXCHANGE, pattern=r"^[A-Za-z0-9._-]{1,200}$")
    publish_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long a publish waits for the broker's confirm"
    )
    consumer_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Deliveries before a failing message is dead-lettered"
    )
    consumer_retry_base_seconds: float = Field(
        default=1.0, gt=0, le=600, description="First retry delay; doubles per attempt"
    )
    consumer_retry_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    consumer_prefetch: int = Field(default=16, ge=1, le=1_000)
