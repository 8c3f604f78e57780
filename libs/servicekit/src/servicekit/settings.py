"""Settings base shared by the services (``APP_`` prefix, ``.env``, secret checks)."""

import os
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shop_contracts.limits import MAX_HEADER_BYTES

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"
DEV_SERVICE_TOKEN = "dev-only-service-token-change-me"


class Environment(StrEnum):
    """Where the process runs; production tightens validation."""

    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"


APP_SETTINGS = SettingsConfigDict(
    env_prefix="APP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
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

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: str = Field(default="HS256", pattern=r"^(HS256|HS384|HS512)$")
    jwt_audience: str | None = None
    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)

    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=104_857_600)
    max_header_bytes: int = Field(default=MAX_HEADER_BYTES, ge=4_096, le=1_048_576)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_json: bool = True

    # Each process gets only the secrets it uses: one that authenticates no one
    # (migrations, the event worker) uses a settings class that turns this off, and
    # runs in production without the JWT secret or the service token.
    checks_auth_secrets: ClassVar[bool] = True

    @property
    def is_production(self) -> bool:
        """True when running for real users."""
        return self.environment is Environment.PRODUCTION

    @property
    def is_testing(self) -> bool:
        """True under the test suite."""
        return self.environment is Environment.TESTING

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if not self.is_production or not self.checks_auth_secrets:
            return self
        weak = []
        jwt_secret = self.jwt_secret.get_secret_value()
        if jwt_secret == DEV_JWT_SECRET or len(jwt_secret) < 32:
            weak.append("APP_JWT_SECRET")
        token = self.service_token.get_secret_value()
        if token == DEV_SERVICE_TOKEN or len(token) < 24:
            weak.append("APP_SERVICE_TOKEN")
        if weak:
            raise ValueError("production refuses default or short secrets: " + ", ".join(weak))
        return self


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
