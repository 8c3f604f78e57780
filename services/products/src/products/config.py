"""Products settings (``APP_`` prefix) and feature flags (``FEATURE_`` prefix)."""

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.events.settings import EventBusSettings
from servicekit.settings import ServiceSettings


class FeatureFlags(BaseSettings):
    """Switches and limits operators may change without a release."""

    model_config = SettingsConfigDict(
        env_prefix="FEATURE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    max_bulk_import_size: int = Field(default=100, ge=1, le=10_000)


class Settings(ServiceSettings, EventBusSettings):
    """Everything the products process reads from the environment."""

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./data/products.db")
    reservation_ttl_seconds: float = Field(default=900, gt=0, le=86_400)
    sweep_interval_seconds: float = Field(default=5, gt=0, le=3_600)
    features: FeatureFlags = Field(default_factory=FeatureFlags)


class OfflineSettings(Settings):
    """Settings of ``products migrate``: it authenticates no one, so needs no auth secrets."""

    checks_auth_secrets: ClassVar[bool] = False
