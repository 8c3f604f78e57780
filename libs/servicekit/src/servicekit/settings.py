"""Settings base shared by the services (``APP_`` prefix, ``.env``, secret checks)."""

import os
from enum import StrEnum
from typing import Annotated, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shop_contracts.limits import MAX_HEADER_BYTES

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"
DEV_SERVICE_TOKEN = "dev-only-service-token-change-me"
MIN_SERVICE_TOKEN_LENGTH = 24

# Signature algorithms a user token from the identity provider may use: public-key
# ones only, so no process that verifies a token holds what signs one (ADR 0021).
ASYMMETRIC_JWT_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class Environment(StrEnum):
    """Where the process runs; production tightens validation."""

    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"


APP_SETTINGS = SettingsConfigDict(
    env_prefix="APP_",
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    # Settings carry secrets (URLs with passwords, tokens): an error names the field only.
    hide_input_in_errors=True,
)
"""How every service settings class (and mixin) reads the environment."""


class ServiceSettings(BaseSettings):
    """What every service needs: environment, database, auth secrets, HTTP limits."""

    model_config = APP_SETTINGS

    # Production unless told otherwise: a process started without APP_ENVIRONMENT
    # gets the strict checks (default secrets refused). `just dev`, the dev
    # recipes and the tests say development or testing explicitly.
    environment: Environment = Environment.PRODUCTION
    # A URL may carry a password: SecretStr keeps it out of repr() and logs; the
    # composition root reads it with get_secret_value().
    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./data/service.db")
    db_pool_size: int = Field(default=20, ge=1, le=50)
    db_max_overflow: int = Field(default=0, ge=0, le=100)
    db_echo: bool = False
    run_migrations_on_startup: bool = False
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Worker processes of `serve`; default: the CPUs in production, else 1",
    )

    # User tokens. With a JWKS URL they are the identity provider's (RS256/ES256,
    # keys fetched and cached, ADR 0021); without one, HS256 with jwt_secret, which
    # production refuses unless jwt_allow_hs256_in_production says otherwise.
    jwt_jwks_url: str | None = Field(
        default=None, description="The identity provider's JWKS (public keys) URL"
    )
    jwt_issuer: str | None = Field(default=None, description="Required `iss` of user tokens")
    jwt_audience: str | None = Field(default=None, description="Required `aud` of user tokens")
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        description="Algorithms accepted with the JWKS (comma-separated); public-key only",
    )
    jwt_jwks_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="Bound on one JWKS fetch, and on any wait for it"
    )
    jwt_jwks_cache_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Keys older than this are re-fetched in the background (rotation, removal)",
    )
    jwt_jwks_min_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3_600,
        description="At most one JWKS fetch per this interval, however many unknown `kid`s arrive",
    )
    jwt_allow_hs256_in_production: bool = Field(
        default=False,
        description="Let production verify user tokens with APP_JWT_SECRET (HS256) instead of a"
        " JWKS: every process that verifies a token can then mint one",
    )
    jwt_allow_http_jwks_in_production: bool = Field(
        default=False,
        description="Let production fetch APP_JWT_JWKS_URL over plain http: only for a JWKS"
        " on a private network, such as compose's development identity provider (dev-idp)",
    )
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: str = Field(default="HS256", pattern=r"^(HS256|HS384|HS512)$")
    # The credential this process presents to another service's internal endpoints.
    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)
    # Who may call this process's internal endpoints: `name=token` entries, comma
    # separated; a name may have two tokens while its credential is rotated. Empty
    # outside production means `orders=<service_token>` (dev and tests share one).
    service_callers: SecretStr | None = Field(
        default=None,
        description="Callers of the internal endpoints, `name=token,...`; two tokens of one"
        " name while it rotates",
    )

    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=104_857_600)
    max_header_bytes: int = Field(default=MAX_HEADER_BYTES, ge=4_096, le=1_048_576)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_json: bool = True

    # Each process gets only what it uses: one that authenticates no one and calls
    # no other service (migrations, the event worker) uses a settings class that
    # turns this off, and runs in production without the identity provider's
    # settings (JWKS URL, issuer, audience), the JWT secret, the service token or
    # the service callers.
    checks_auth_secrets: ClassVar[bool] = True

    @property
    def is_production(self) -> bool:
        """True when running for real users."""
        return self.environment is Environment.PRODUCTION

    @property
    def is_testing(self) -> bool:
        """True under the test suite."""
        return self.environment is Environment.TESTING

    @property
    def verifies_with_jwks(self) -> bool:
        """True when user tokens are checked against the identity provider's public keys."""
        return self.jwt_jwks_url is not None

    def accepted_service_callers(self) -> dict[str, tuple[str, ...]]:
        """Caller name -> the tokens that identify it on internal endpoints."""
        if self.service_callers is None:
            return {"orders": (self.service_token.get_secret_value(),)}
        return parse_service_callers(self.service_callers.get_secret_value())

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _public_key_algorithms_only(cls, value: list[str]) -> list[str]:
        refused = [name for name in value if name not in ASYMMETRIC_JWT_ALGORITHMS]
        if refused or not value:
            raise ValueError(
                "APP_JWT_ALGORITHMS takes public-key algorithms only ("
                + ", ".join(sorted(ASYMMETRIC_JWT_ALGORITHMS))
                + f"); refused: {', '.join(refused) or 'an empty list'}"
            )
        return value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ValueError("APP_JWT_JWKS_URL must be an http(s) URL")
        return value

    @field_validator("service_callers")
    @classmethod
    def _service_callers_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_service_callers(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _refuse_weak_user_tokens_in_production(self) -> Self:
        if not self.is_production or not self.checks_auth_secrets:
            return self
        if self.jwt_jwks_url is not None:
            missing = [
                name
                for name, value in (
                    ("APP_JWT_ISSUER", self.jwt_issuer),
                    ("APP_JWT_AUDIENCE", self.jwt_audience),
                )
                if not value
            ]
            if missing:
                raise ValueError("production verifies the JWKS path with " + ", ".join(missing))
            if (
                urlsplit(self.jwt_jwks_url).scheme != "https"
                and not self.jwt_allow_http_jwks_in_production
            ):
                raise ValueError(
                    "production fetches APP_JWT_JWKS_URL over https only (plain http needs"
                    " APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION=true)"
                )
            return self
        if not self.jwt_allow_hs256_in_production:
            raise ValueError(
                "production verifies user tokens with the identity provider's keys: set"
                " APP_JWT_JWKS_URL (HS256 with APP_JWT_SECRET needs"
                " APP_JWT_ALLOW_HS256_IN_PRODUCTION=true)"
            )
        jwt_secret = self.jwt_secret.get_secret_value()
        if jwt_secret == DEV_JWT_SECRET or len(jwt_secret) < 32:
            raise ValueError("production refuses default or short secrets: APP_JWT_SECRET")
        return self


def parse_service_callers(text: str) -> dict[str, tuple[str, ...]]:
    """``orders=tok1,orders=tok2`` -> ``{"orders": ("tok1", "tok2")}``; ValueError if malformed.

    Never echoes a token in its errors: the value is a secret.
    """
    callers: dict[str, list[str]] = {}
    for position, entry in enumerate(text.split(","), start=1):
        name, sep, token = entry.strip().partition("=")
        if not entry.strip():
            continue
        if not sep or not name.strip() or not token.strip():
            raise ValueError(f"APP_SERVICE_CALLERS entry {position} is not `name=token`")
        callers.setdefault(name.strip(), []).append(token.strip())
    if not callers:
        raise ValueError("APP_SERVICE_CALLERS names no caller")
    return {name: tuple(tokens) for name, tokens in callers.items()}


def weak_service_tokens(tokens: dict[str, tuple[str, ...]]) -> list[str]:
    """Callers whose token is the development default or shorter than production accepts."""
    return sorted(
        name
        for name, values in tokens.items()
        if any(t == DEV_SERVICE_TOKEN or len(t) < MIN_SERVICE_TOKEN_LENGTH for t in values)
    )


def settings_problem(command: str, error: ValidationError) -> str:
    """What a CLI prints instead of a traceback when its ``APP_*`` settings do not validate."""
    lines = [f"{command}: the settings (APP_* environment variables) are not valid:"]
    for problem in error.errors():
        names = ", ".join(f"APP_{str(part).upper()}" for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {names}: {message}" if names else f"  {message}")
    if "APP_ENVIRONMENT" not in os.environ:
        # The usual cause on a laptop: the services default to production's rules.
        lines.append(
            "  APP_ENVIRONMENT is not set, so production's rules apply; on a development"
            " machine run it with APP_ENVIRONMENT=development (the justfile's recipes do)"
        )
    return "\n".join(lines)
