"""Settings come from APP_ variables and feature flags from FEATURE_ variables."""

from typing import Any

import pytest
from pydantic import ValidationError

from products.config import FeatureFlags, OfflineSettings, Settings


def test_defaults_match_the_documented_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "APP_DATABASE_URL",
        "APP_RESERVATION_TTL_SECONDS",
        "APP_SWEEP_INTERVAL_SECONDS",
        "FEATURE_MAX_BULK_IMPORT_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")

    # A developer's .env must not change the defaults.
    settings, flags = Settings(_env_file=None), FeatureFlags(_env_file=None)

    assert settings.database_url.get_secret_value() == "sqlite+aiosqlite:///./data/products.db"
    assert (settings.reservation_ttl_seconds, settings.sweep_interval_seconds) == (900, 5)
    assert flags.max_bulk_import_size == 100


def test_environment_overrides_settings_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")
    monkeypatch.setenv("APP_RESERVATION_TTL_SECONDS", "30")
    monkeypatch.setenv("FEATURE_MAX_BULK_IMPORT_SIZE", "7")

    settings, flags = Settings(), FeatureFlags()

    assert settings.reservation_ttl_seconds == 30
    assert flags.max_bulk_import_size == 7


@pytest.mark.parametrize("value", ["0", "-5"])
def test_non_positive_ttl_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")
    monkeypatch.setenv("APP_RESERVATION_TTL_SECONDS", value)

    with pytest.raises(ValidationError):
        Settings()


def test_bulk_import_cap_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        FeatureFlags(max_bulk_import_size=0)


def test_a_database_password_stays_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")
    monkeypatch.setenv("APP_DATABASE_URL", "postgresql+asyncpg://shop:hunter2-pw@db/products")

    settings = Settings(_env_file=None)

    assert "hunter2-pw" not in repr(settings)
    assert "hunter2-pw" not in str(settings.model_dump())
    assert settings.database_url.get_secret_value().endswith("shop:hunter2-pw@db/products")


_PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "jwt_jwks_url": "https://idp.example.com/certs",
    "jwt_issuer": "https://idp.example.com",
    "jwt_audience": "shop",
}


def test_production_names_the_callers_of_its_internal_endpoints() -> None:
    with pytest.raises(ValidationError, match="APP_SERVICE_CALLERS"):
        Settings(_env_file=None, **_PRODUCTION)
    settings = Settings(
        _env_file=None, **_PRODUCTION, service_callers=f"orders={'a' * 30},orders={'b' * 30}"
    )
    assert settings.accepted_service_callers() == {"orders": ("a" * 30, "b" * 30)}


@pytest.mark.parametrize("token", ["short", "dev-only-service-token-change-me"])
def test_production_refuses_a_weak_caller_token(token: str) -> None:
    with pytest.raises(ValidationError, match="APP_SERVICE_CALLERS for orders"):
        Settings(_env_file=None, **_PRODUCTION, service_callers=f"orders={'a' * 30},orders={token}")


def test_products_migrate_needs_neither_the_identity_provider_nor_callers() -> None:
    # `products migrate` verifies no token and serves no internal endpoint.
    with pytest.raises(ValidationError, match="identity provider"):
        Settings(_env_file=None, environment="production")
    settings = OfflineSettings(_env_file=None, environment="production")
    assert settings.is_production
