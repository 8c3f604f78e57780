"""The outbox relay's settings, mixed into a service's ``Settings`` (``APP_OUTBOX_*``, ADR 0022)."""

from pydantic import Field
from pydantic_settings import BaseSettings

from servicekit.settings import APP_SETTINGS


class OutboxSettings(BaseSettings):
    """How often the relay looks, how much it takes, and how it retries."""

    model_config = APP_SETTINGS

    outbox_poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    outbox_batch_window_seconds: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="A woken relay waits this long, so commits right behind share its batch",
    )
    outbox_batch_size: int = Field(
        default=50, ge=1, le=1_000, description="Outbox rows one relay pass leases and dispatches"
    )
    outbox_max_attempts: int = Field(default=5, ge=1, le=100)
    outbox_lease_seconds: float = Field(default=30.0, gt=0, le=3_600)
    outbox_backoff_seconds: float = Field(default=0.5, ge=0, le=600)
    run_outbox_relay: bool = True
