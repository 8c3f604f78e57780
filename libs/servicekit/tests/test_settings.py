"""Settings validation: ranges, environments, production secret checks."""

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from servicekit.settings import Environment, ServiceSettings

IDP: dict[str, Any] = {
    "jwt_jwks_url": "https://idp.example.com/realms/shop/protocol/openid-connect/certs",
    "jwt_issuer": "https://idp.example.com/realms/shop",
    "jwt_audience": "shop",
}


def test_without_app_environment_a_process_is_production_and_refuses_hs256(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_ENVIRONMENT", raising=False)

    with pytest.raises(ValidationError, match="APP_JWT_JWKS_URL"):
        ServiceSettings(_env_file=None)


def test_production_refuses_hs256_even_with_a_strong_secret() -> None:
    with pytest.raises(ValidationError, match="APP_JWT_ALLOW_HS256_IN_PRODUCTION"):
        ServiceSettings(environment=Environment.PRODUCTION, jwt_secret=SecretStr("x" * 40))


def test_production_takes_hs256_only_when_allowed_and_never_with_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="APP_JWT_SECRET"):
        ServiceSettings(environment=Environment.PRODUCTION, jwt_allow_hs256_in_production=True)
    settings = ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_allow_hs256_in_production=True,
        jwt_secret=SecretStr("x" * 40),
    )
    assert not settings.verifies_with_jwks


def test_production_accepts_the_jwks_path() -> None:
    settings = ServiceSettings(environment=Environment.PRODUCTION, **IDP)
    assert settings.is_production
    assert settings.verifies_with_jwks
    assert not settings.is_testing


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jwt_issuer": None}, "APP_JWT_ISSUER"),
        ({"jwt_audience": None}, "APP_JWT_AUDIENCE"),
        ({"jwt_jwks_url": "http://idp.example.com/certs"}, "https only"),
    ],
)
def test_production_jwks_needs_issuer_audience_and_https(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(environment=Environment.PRODUCTION, **{**IDP, **change})


def test_production_fetches_a_plain_http_jwks_only_when_told() -> None:
    # compose's dev-idp serves its JWKS on the compose network, over http.
    http = {**IDP, "jwt_jwks_url": "http://dev-idp:8080/.well-known/jwks.json"}
    settings = ServiceSettings(
        environment=Environment.PRODUCTION, jwt_allow_http_jwks_in_production=True, **http
    )
    assert settings.verifies_with_jwks
    with pytest.raises(ValidationError, match="APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION"):
        ServiceSettings(environment=Environment.PRODUCTION, **http)


@pytest.mark.parametrize("algorithms", ["HS256", "RS256,none", "", "RS256,HS512"])
def test_only_public_key_algorithms_are_allowed_with_the_jwks(
    monkeypatch: pytest.MonkeyPatch, algorithms: str
) -> None:
    monkeypatch.setenv("APP_JWT_ALGORITHMS", algorithms)
    with pytest.raises(ValidationError, match="public-key algorithms only"):
        ServiceSettings(environment=Environment.TESTING, _env_file=None)


def test_algorithms_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_JWT_ALGORITHMS", "ES256, PS256")
    settings = ServiceSettings(environment=Environment.TESTING, _env_file=None)
    assert settings.jwt_algorithms == ["ES256", "PS256"]


@pytest.mark.parametrize("url", ["ftp://idp/certs", "idp.example.com/certs", "https://"])
def test_the_jwks_url_is_an_http_url(url: str) -> None:
    with pytest.raises(ValidationError, match="http"):
        ServiceSettings(environment=Environment.TESTING, jwt_jwks_url=url)


def test_service_callers_name_each_token_and_allow_two_per_caller() -> None:
    settings = ServiceSettings(
        environment=Environment.TESTING,
        service_callers=SecretStr("orders=old-token, orders=new-token,reports=r-token"),
    )
    assert settings.accepted_service_callers() == {
        "orders": ("old-token", "new-token"),
        "reports": ("r-token",),
    }


def test_without_service_callers_development_names_orders_by_the_service_token() -> None:
    settings = ServiceSettings(environment=Environment.TESTING, service_token=SecretStr("t" * 30))
    assert settings.accepted_service_callers() == {"orders": ("t" * 30,)}


@pytest.mark.parametrize("value", ["orders", "=s3cr3t", "orders=", " , ", "s3cr3t"])
def test_malformed_service_callers_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("APP_SERVICE_CALLERS", value)
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(environment=Environment.TESTING, _env_file=None)
    assert "APP_SERVICE_CALLERS" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


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
