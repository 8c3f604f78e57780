"""Products settings (``APP_`` prefix) and feature flags (``FEATURE_`` prefix)."""

from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.events.settings import EventBusSettings
from servicekit.settings import ServiceSettings, weak_service_tokens


class FeatureFlags(BaseSettings):
    """Switches and limits operators may change without a release; beside ``Settings`` (ADR 0026)."""

    model_config = SettingsConfigDict(
        env_prefix="FEATURE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    max_bulk_import_size: int = Field(default=100, ge=1, le=10_000)


class Settings(ServiceSettings, EventBusSettings):
    """Everything the products process reads from the environment."""

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./data/products.db")
    reservation_ttl_seconds: float = Field(default=900, gt=0, le=86_400)
    sweep_interval_seconds: float = Field(default=5, gt=0, le=3_600)

    @model_validator(mode="after")
    def _production_names_its_callers(self) -> Self:
        # Only the configured callers reach the reservation endpoints (ADR 0021).
        if not self.is_production or not self.checks_auth_secrets:
            return self
        if self.service_callers is None:
            raise ValueError("production needs APP_SERVICE_CALLERS (e.g. `orders=<token>`)")
        weak = weak_service_tokens(self.accepted_service_callers())
        if weak:
            raise ValueError(
                "production refuses default or short secrets: APP_SERVICE_CALLERS for "
                + ", ".join(weak)
            )
        return self


class OfflineSettings(Settings):
    """Settings of ``products migrate``: it authenticates no one, so needs no auth settings.

    It verifies no user token and serves no internal endpoint: production asks it
    for neither the identity provider nor APP_SERVICE_CALLERS.
    """

    checks_auth_secrets: ClassVar[bool] = False
