"""Collaborators a caller (usually a test) supplies instead of the configured ones (ADR 0027)."""

from dataclasses import dataclass, field

import httpx

from orders.adapters.product_clients.factory import ProductClients
from orders.application.place_order import AfterReserveHook
from orders.config import FeatureFlags
from orders.domain.ports import NotificationPort, PaymentPort
from orders.domain.product_client import ProductServiceClient
from servicekit.clock import Clock, utc_now
from servicekit.health import ReadinessCheck


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the bootstrap uses instead of building it; ``None`` means "build the configured one".

    ``flags`` are the environment's defaults under the operator's stored flags
    (``FEATURE_*`` when ``None``). ``product_client`` is one fixed client for
    every request and background task (``products_readiness`` its check);
    ``product_clients`` is the set a start-up mode would build, routed as usual.
    """

    flags: FeatureFlags | None = None
    product_client: ProductServiceClient | None = None
    products_readiness: ReadinessCheck | None = None
    product_clients: ProductClients | None = None
    notifications: NotificationPort | None = None
    payments: PaymentPort | None = None
    http_client: httpx.AsyncClient | None = None
    after_reserve: AfterReserveHook | None = None
    clock: Clock = field(default=utc_now)
