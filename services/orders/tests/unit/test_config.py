"""Orders settings keep database passwords out of their representation."""

import pytest

from orders.config import Settings


def test_database_passwords_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    urls = {
        "APP_DATABASE_URL": "postgresql+asyncpg://orders:primary-pw@db/orders",
        "APP_READ_DATABASE_URL": "postgresql+asyncpg://orders:replica-pw@replica/orders",
        "APP_PRODUCTS_DATABASE_URL": "postgresql+asyncpg://products:products-pw@db/products",
    }
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")
    for name, url in urls.items():
        monkeypatch.setenv(name, url)

    settings = Settings(_env_file=None)

    for password in ("primary-pw", "replica-pw", "products-pw"):
        assert password not in repr(settings)
        assert password not in str(settings.model_dump())
    assert settings.read_database_url is not None
    assert {
        settings.database_url.get_secret_value(),
        settings.read_database_url.get_secret_value(),
        settings.products_database_url.get_secret_value(),
    } == set(urls.values())
