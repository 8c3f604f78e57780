"""The two services as real processes over two PostgreSQL databases, and a client for them."""

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
from prometheus_client.parser import text_string_to_metric_families

from servicekit.devidp import JwksServer, SigningKey, user_claims
from shop_contracts import paths
from tests.support.processes import ServiceProcess

API = paths.API_PREFIX
ORDERS = f"{API}/orders"
T = TypeVar("T")


@dataclass(frozen=True)
class Databases:
    """The products and orders databases, migrated; products seeded with the demo catalogue."""

    products: str
    orders: str


ISSUER = "https://idp.integration.test/realms/shop"
AUDIENCE = "shop"


@dataclass(frozen=True)
class Secrets:
    """As in a deployment: the identity provider's signing key, and orders' service credential."""

    signing_key: SigningKey = field(default_factory=lambda: SigningKey.generate("RS256"))
    service_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def auth_env(self, jwks_url: str) -> dict[str, str]:
        """User tokens by the JWKS (issuer and audience checked); products names orders."""
        return {
            "APP_JWT_JWKS_URL": jwks_url,
            "APP_JWT_ISSUER": ISSUER,
            "APP_JWT_AUDIENCE": AUDIENCE,
            "APP_SERVICE_TOKEN": self.service_token,
            "APP_SERVICE_CALLERS": f"orders={self.service_token}",
        }


@dataclass
class Stack:
    """Starts products and orders processes on demand; stops every one it started.

    Both verify user tokens by the JWKS ``identity_provider`` serves, as they
    would with Keycloak or Auth0 in front of them.
    """

    databases: Databases
    log_dir: Path
    identity_provider: JwksServer
    secrets: Secrets = field(default_factory=Secrets)
    processes: list[ServiceProcess] = field(default_factory=list)
    # Seconds a process may take to answer /health/ready (more for several workers).
    ready_timeout: float = 30.0

    def __post_init__(self) -> None:
        self.identity_provider.publish(self.secrets.signing_key)

    def _common(self) -> dict[str, str]:
        return {
            "APP_ENVIRONMENT": "testing",
            **self.secrets.auth_env(self.identity_provider.url),
            "APP_LOG_JSON": "true",
            "APP_LOG_LEVEL": "INFO",
            "APP_DB_POOL_SIZE": "5",
        }

    def start_products(
        self, env: Mapping[str, str] | None = None, *, port: int | None = None
    ) -> ServiceProcess:
        """A products process on the products database (on ``port`` to replace a dead one)."""
        values = {**self._common(), "APP_DATABASE_URL": self.databases.products, **(env or {})}
        process = ServiceProcess("products", env=values, log_dir=self.log_dir, via_cli=True)
        if port is not None:
            process.port = port
        return self._start(process, self.ready_timeout)

    def start_orders(
        self, mode: str, products: ServiceProcess | None = None, **env: str
    ) -> ServiceProcess:
        """An orders process in ``mode`` (local, http, shadow) on the same two databases."""
        values = {
            **self._common(),
            "APP_DATABASE_URL": self.databases.orders,
            "APP_PRODUCTS_CLIENT": mode,
            # local and shadow reach the products database directly
            "APP_PRODUCTS_DATABASE_URL": self.databases.products,
            "APP_PRODUCTS_URL": products.url if products else "http://127.0.0.1:9",
            "APP_OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
            **env,
        }
        process = ServiceProcess("orders", env=values, log_dir=self.log_dir, via_cli=True)
        return self._start(process, self.ready_timeout)

    def _start(self, process: ServiceProcess, ready_timeout: float = 30.0) -> ServiceProcess:
        self.processes.append(process)
        return process.start(ready_timeout)

    def stop_all(self) -> None:
        """SIGTERM (then SIGKILL) every process this stack started."""
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        """Every process log, one after the other (printed when a test fails)."""
        return "\n".join(
            f"===== {path.name} =====\n{path.read_text(errors='replace')}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def client(self) -> "Shop":
        """A client whose tokens are signed with the identity provider's key."""
        return Shop(self.secrets)


class Shop:
    """A thin synchronous client for both APIs (tests point it at whichever processes run)."""

    def __init__(self, shared: Secrets, timeout: float = 15.0) -> None:
        self._signing_key = shared.signing_key
        self._service_token = shared.service_token
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def auth(self, user: str, *roles: str) -> dict[str, str]:
        """A user's Authorization header."""
        claims = user_claims(user, roles, issuer=ISSUER, audience=AUDIENCE)
        return {"Authorization": f"Bearer {self._signing_key.sign(claims)}"}

    def service_auth(self) -> dict[str, str]:
        """The service credential products' internal endpoints require."""
        return {"Authorization": f"Bearer {self._service_token}"}

    def add_product(self, products: ServiceProcess, *, stock: int, price: str = "12.50") -> UUID:
        """Create a product through the admin API; its id."""
        sku = f"IT-{uuid4().hex[:12]}"
        response = self.http.post(
            f"{products.url}{API}{paths.PRODUCTS}",
            json={"sku": sku, "name": f"Integration {sku}", "price": price, "stock": stock},
            headers=self.auth("it-admin", "admin"),
        )
        assert response.status_code == 201, response.text
        return UUID(response.json()["id"])

    def stock(self, products: ServiceProcess, product_id: UUID) -> int:
        """Available stock as products reports it."""
        response = self.http.get(
            f"{products.url}{API}{paths.PRODUCT.format(product_id=product_id)}"
        )
        assert response.status_code == 200, response.text
        available: int = response.json()["stock_available"]
        return available

    def place(
        self,
        orders: ServiceProcess,
        user: str,
        lines: Mapping[UUID, int],
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST /orders with a fresh (or the given) Idempotency-Key."""
        body = {"items": [{"product_id": str(p), "quantity": q} for p, q in lines.items()]}
        return self.http.post(
            f"{orders.url}{ORDERS}",
            json=body,
            headers={
                **self.auth(user),
                "Idempotency-Key": key or uuid4().hex,
                **(headers or {}),
            },
        )

    def get(self, orders: ServiceProcess, user: str, path: str = "") -> httpx.Response:
        """GET an orders path (relative to /api/v1/orders) as ``user``."""
        return self.http.get(f"{orders.url}{ORDERS}{path}", headers=self.auth(user))

    def post(
        self, orders: ServiceProcess, user: str, path: str, body: Any = None
    ) -> httpx.Response:
        """POST to an orders path (relative to /api/v1/orders) as ``user``."""
        return self.http.post(f"{orders.url}{ORDERS}{path}", json=body, headers=self.auth(user))

    def all_orders(self, orders: ServiceProcess, user: str) -> list[dict[str, Any]]:
        """Every order of ``user`` (one page of up to 100)."""
        response = self.get(orders, user, "?page_size=100")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] <= 100, "more orders than one page; the test should not need that"
        items: list[dict[str, Any]] = body["items"]
        return items

    def metric_samples(
        self, process: ServiceProcess, name: str
    ) -> list[tuple[dict[str, str], float]]:
        """Samples (labels, value) of one metric family from ``/metrics``."""
        response = self.http.get(f"{process.url}/metrics")
        assert response.status_code == 200, response.text
        return [
            (dict(sample.labels), sample.value)
            for family in text_string_to_metric_families(response.text)
            if family.name == name
            for sample in family.samples
            if not sample.name.endswith("_created")
        ]


def eventually(check: Callable[[], T | None], *, timeout: float, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something other than None; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
