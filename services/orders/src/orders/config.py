"""Orders settings (``APP_`` prefix) and feature flags (``FEATURE_`` prefix)."""

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seam import Mode, choosable
from servicekit.events.settings import EventBusSettings
from servicekit.http_client.pool import HttpTransport
from servicekit.outbox.settings import OutboxSettings
from servicekit.settings import ServiceSettings, weak_service_tokens


class ProductsClientMode(StrEnum):
    """Which ``ProductServiceClient`` the composition root builds."""

    # The seam's modes by value (``seam.MODES`` says what each builds and who serves);
    # orders' own name, as its settings and OpenAPI document have always called it.
    LOCAL = Mode.LOCAL.value
    HTTP = Mode.HTTP.value
    SHADOW = Mode.SHADOW.value
    CANARY = Mode.CANARY.value


def choosable_modes(startup: ProductsClientMode) -> frozenset[ProductsClientMode]:
    """The run-time modes a process started in ``startup`` has the clients for."""
    return frozenset(ProductsClientMode(mode.value) for mode in choosable(Mode(startup)))


class NotificationsBackend(StrEnum):
    """Where order e-mails go."""

    LOG = "log"
    SENDGRID = "sendgrid"


class PaymentsBackend(StrEnum):
    """Who charges the customer."""

    FAKE = "fake"
    STRIPE = "stripe"


class FaultInjection(StrEnum):
    """Test-only faults between reserve and commit (refused in production)."""

    NONE = "none"
    RAISE_AFTER_RESERVE = "raise_after_reserve"
    EXIT_AFTER_RESERVE = "exit_after_reserve"


class Settings(ServiceSettings, EventBusSettings, OutboxSettings):
    """Everything the orders process reads from the environment."""

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./data/orders.db")
    read_database_url: SecretStr | None = Field(
        default=None, description="Read-side database (replica); defaults to database_url"
    )

    products_client: ProductsClientMode = ProductsClientMode.LOCAL
    # local / shadow: the products database the in-process facade uses
    products_database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./data/products.db")
    products_reservation_ttl_seconds: float = Field(default=900.0, gt=0, le=86_400)
    products_sweep_interval_seconds: float = Field(default=5.0, gt=0, le=3_600)
    run_products_sweeper: bool = True
    # http / shadow: the separately deployed products service
    products_url: str = "http://127.0.0.1:8001"
    products_transport: HttpTransport = HttpTransport.AIOHTTP
    products_connect_timeout: float = Field(default=1.0, gt=0, le=30)
    products_read_timeout: float = Field(default=5.0, gt=0, le=60)
    products_pool_timeout: float = Field(default=1.0, gt=0, le=30)
    products_deadline_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Overall budget per write call (reserve, confirm, release), retries"
        " included; also the most a read may get",
    )
    placement_budget_seconds: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="The most one placement waits for products in all (reserve, confirm);"
        " each call's deadline is cut to what is left of it (ADR 0024)",
    )
    products_read_deadline_seconds: float = Field(
        default=2.0,
        gt=0,
        le=120,
        description="Overall budget per read call (product, lookup, stock, reservation),"
        " retries included",
    )
    products_hang_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Calls waiting this long (at least) with no answer from products at all"
        " mean products hangs: the breaker opens and the calls are cut",
    )
    products_max_attempts: int = Field(default=3, ge=1, le=10)
    products_retry_initial_backoff: float = Field(default=0.05, ge=0, le=5)
    products_retry_max_backoff: float = Field(default=0.5, ge=0, le=30)
    products_max_connections: int = Field(
        default=20,
        ge=1,
        le=1_000,
        description="Connections to products, and so calls in flight at once (the bulkhead)",
    )
    products_queue_timeout: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="How long a call may wait for a bulkhead slot before 503",
    )
    products_breaker_failure_threshold: int = Field(default=5, ge=1, le=1_000)
    products_breaker_reset_seconds: float = Field(default=5.0, gt=0, le=600)
    shadow_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    shadow_sample_rate: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Fraction of reads mirrored to the candidate in shadow mode (random per read);"
        " the default of the shadow_sample_rate flag",
    )
    canary_share: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Percent of users (sticky by user id) served by http in canary mode;"
        " the default of the canary_share flag",
    )
    flags_refresh_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each process re-reads the operator-changed flags",
    )
    canary_fallback_window_seconds: float = Field(
        default=60.0, gt=0, le=3_600, description="Window the canary fallback judges http over"
    )
    canary_fallback_min_calls: int = Field(
        default=20, ge=1, le=100_000, description="Fewer http calls in the window never trip it"
    )
    canary_fallback_max_error_rate: float = Field(
        default=0.05, gt=0, le=1, description="http failures / calls above this trip the fallback"
    )
    canary_fallback_max_p95_seconds: float = Field(
        default=1.0, gt=0, le=60, description="http p95 latency above this trips the fallback"
    )

    reconcile_interval_seconds: float = Field(default=5.0, gt=0, le=3_600)
    reconcile_grace_seconds: float = Field(
        default=10.0, ge=0, le=3_600, description="Pending orders younger than this are left alone"
    )
    run_reconciler: bool = True
    fault_injection: FaultInjection = FaultInjection.NONE

    notifications_backend: NotificationsBackend = NotificationsBackend.LOG
    sendgrid_api_key: SecretStr | None = None
    sendgrid_url: str = "https://api.sendgrid.com/v3/mail/send"
    sendgrid_from_email: str = "orders@example.com"
    payments_backend: PaymentsBackend = PaymentsBackend.FAKE
    stripe_api_key: SecretStr | None = None
    stripe_url: str = "https://api.stripe.com/v1"
    stripe_payment_method: str = "pm_card_visa"
    external_http_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _refuse_faults_and_missing_keys_in_production(self) -> Self:
        if self.is_production and self.fault_injection is not FaultInjection.NONE:
            raise ValueError("production refuses APP_FAULT_INJECTION")
        # The credential orders presents to products (ADR 0021).
        if (
            self.is_production
            and self.checks_auth_secrets
            and weak_service_tokens({"orders": (self.service_token.get_secret_value(),)})
        ):
            raise ValueError("production refuses default or short secrets: APP_SERVICE_TOKEN")
        if (
            self.notifications_backend is NotificationsBackend.SENDGRID
            and not self.sendgrid_api_key
        ):
            raise ValueError("APP_SENDGRID_API_KEY is required with the sendgrid backend")
        if self.payments_backend is PaymentsBackend.STRIPE and not self.stripe_api_key:
            raise ValueError("APP_STRIPE_API_KEY is required with the stripe backend")
        return self


class OfflineSettings(Settings):
    """Settings of ``orders migrate`` and ``orders worker``: they authenticate no one.

    Neither verifies a user token nor calls products over HTTP, so production
    does not demand the identity provider's settings, the JWT secret or the
    service token of them, and the manifests give them none of these.
    """

    checks_auth_secrets: ClassVar[bool] = False


class FeatureFlags(BaseSettings):
    """Behaviour switches a request reads (the flag store's snapshot, bound in ``OrdersDep``).

    An operator changes them while the service runs (the flags store); what is
    not changed there falls back to the environment: ``FEATURE_*`` for the
    behaviour switches, and ``APP_PRODUCTS_CLIENT``, ``APP_CANARY_SHARE`` and
    ``APP_SHADOW_SAMPLE_RATE`` for the product-client ones (``default_flags``).
    """

    model_config = SettingsConfigDict(
        env_prefix="FEATURE_", env_file=".env", extra="ignore", frozen=True
    )

    confirmation_email: bool = Field(
        default=True, description="Send the order-confirmation e-mail on OrderPlaced"
    )
    max_items_per_order: int = Field(
        default=50, ge=1, le=50, description="Distinct products one order may hold"
    )
    products_client: ProductsClientMode = Field(
        default=ProductsClientMode.LOCAL,
        description="Which product client serves requests; only modes whose clients this"
        " process built at start-up can be chosen",
    )
    canary_share: int = Field(
        default=0, ge=0, le=100, description="Canary mode: percent of users served by http"
    )
    shadow_sample_rate: float = Field(
        default=1.0, ge=0, le=1, description="Shadow mode: fraction of reads mirrored to http"
    )


def default_flags(settings: Settings, features: FeatureFlags | None = None) -> FeatureFlags:
    """The environment's flags: ``FEATURE_*`` plus the product-client defaults from ``APP_*``."""
    return (features or FeatureFlags()).model_copy(
        update={
            "products_client": settings.products_client,
            "canary_share": settings.canary_share,
            "shadow_sample_rate": settings.shadow_sample_rate,
        }
    )
