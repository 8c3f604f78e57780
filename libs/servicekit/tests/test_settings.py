"""Settings validation: ranges, environments, production secret checks."""

import pytest
from pydantic import SecretStr, ValidationError

from servicekit.settings import Environment, ServiceSettings


def test_without_app_environment_a_process_is_production_and_refuses_default_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_ENVIRONMENT", raising=False)

    with pytest.raises(ValidationError, match="APP_JWT_SECRET"):
        ServiceSettings(_env_file=None)


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValidationError, match="APP_JWT_SECRET"):
        ServiceSettings(environment=Environment.PRODUCTION)


def test_production_accepts_strong_secrets() -> None:
    settings = ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_secret=SecretStr("x" * 40),
        service_token=SecretStr("y" * 40),
    )
    assert settings.is_production
    assert not settings.is_testing


@pytest.mark.parametrize("size", [0, 51])
def test_pool_size_out_of_range_is_rejected(size: int) -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(environment=Environment.TESTING, db_pool_size=size)


def test_env_prefix_is_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DB_POOL_SIZE", "7")
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")
    settings = ServiceSettings()
    assert settings.db_pool_size == 7
    assert settings.is_testing


def test_secrets_do_not_leak_in_repr() -> None:
    assert "dev-only" not in repr(ServiceSettings(environment=Environment.DEVELOPMENT))
