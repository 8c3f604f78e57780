"""``ProductClientRouter``: which product client serves this request.

The ``products_client`` flag is the run-time mode; the clients it can pick from
were built at start-up (``factory.build_product_clients``):

- ``local`` and ``http``: that client for everyone;
- ``shadow``: local answers, reads mirrored to http at the request's
  ``shadow_sample_rate``;
- ``canary``: ``canary_share`` percent of users on http, the rest on local,
  sticky by user id. A user's bucket is
  ``int.from_bytes(sha256(user_id).digest()[:8], "big") % 10_000`` and the user
  is on http iff ``bucket < share * 100``, so one user's orders never alternate
  while the share stands, and raising the share only moves users from local to
  http (a user on http at 5 % is on http at 50 %).

A mode whose clients this process did not build is served by the start-up mode,
with a warning at most once a minute: a request never fails because of a flag.
The choice is made once per request, at the entrypoint (``deps.OrdersDep``), so
one placement's reserve, confirm and release go through one client.

Background work (the reconciler, event consumers) uses ``authoritative``: the
local client when it was built, else the http one.

With both clients built, the http path's routed calls (canary and http run-time
modes) feed ``CanaryFallback``, and so does an opening of the http client's
breaker while users are routed to http (ADR 0024); while it holds (tripped, its write of share 0
not yet in the store) this process routes everyone to local.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from orders.adapters.product_clients.factory import ProductClients
from orders.adapters.product_clients.fallback import CanaryFallback
from orders.adapters.product_clients.metrics import CANARY_SHARE, ROUTED
from orders.adapters.product_clients.observed import ObservedProductClient
from orders.application.flags import FlagStore
from orders.config import FeatureFlags, ProductsClientMode, choosable_modes
from orders.domain.product_client import ProductServiceClient
from servicekit.health import ReadinessCheck

logger = logging.getLogger(__name__)

BUCKETS = 10_000
UNBUILT_WARNING_SECONDS = 60.0


def canary_bucket(user_id: str) -> int:
    """The user's fixed place in 0..9999; the canary serves buckets below ``share * 100``."""
    digest = hashlib.sha256(user_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def on_http(user_id: str, share: int) -> bool:
    """Whether the canary at ``share`` percent sends ``user_id`` to http."""
    return canary_bucket(user_id) < share * (BUCKETS // 100)


class ProductClientRouter:
    """Picks the product client for a request's flags and user."""

    def __init__(
        self,
        clients: ProductClients,
        *,
        fallback: CanaryFallback | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._fallback = fallback
        # The http path as routed: judged by the fallback when there is local to fall back to.
        self._routed_http = clients.http
        if fallback is not None and clients.local is not None and clients.http is not None:
            self._routed_http = fallback.guard(clients.http)
            if clients.http_breaker is not None:
                clients.http_breaker.on_open(self._products_down)
        self._modes = choosable_modes(clients.startup)
        self._monotonic = monotonic
        self._warned: dict[ProductsClientMode, float] = {}
        # Labelled children, looked up once: ``labels()`` costs more than the rest of ``choose``.
        self._routed_children: dict[tuple[ProductsClientMode, str], Counter] = {}
        self._flags_seen: FeatureFlags | None = None
        self._shadow_view: ProductServiceClient | None = None
        self._shadow_rate: float | None = None

    @property
    def fallback(self) -> CanaryFallback | None:
        """The canary fallback judging the routed http calls (both clients built)."""
        return self._fallback

    @property
    def modes(self) -> frozenset[ProductsClientMode]:
        """The run-time modes this process has the clients for."""
        return self._modes

    @property
    def startup(self) -> ProductsClientMode:
        """``APP_PRODUCTS_CLIENT``: what serves when the flag names a mode not built."""
        return self._clients.startup

    @property
    def authoritative(self) -> ProductServiceClient:
        """The client for background work: local when built, else http."""
        client = self._clients.local or self._clients.http
        assert client is not None  # ProductClients guarantees one
        return client

    def choose(self, flags: FeatureFlags, user_id: str) -> ProductServiceClient:
        """The client that serves this request (and every product call it makes)."""
        holding = self._holding()
        if flags is not self._flags_seen:
            self.publish(flags)
        mode = flags.products_client
        served = mode
        if mode not in self._modes:
            self._warn_unbuilt(mode)
            served = self._clients.startup
        client, label = self._pick(served, flags, user_id, holding=holding)
        self._routed(mode, label).inc()
        return client

    def routed_share(self, flags: FeatureFlags) -> int:
        """The percent of users these flags send to http here (0 while the fallback holds)."""
        if self._holding():
            return 0
        served = flags.products_client
        if served not in self._modes:
            served = self._clients.startup
        if served is ProductsClientMode.HTTP:
            return 100
        if served is ProductsClientMode.CANARY:
            return flags.canary_share
        return 0  # local, or shadow (local answers; http only sees mirrored reads)

    def publish(self, flags: FeatureFlags) -> None:
        """Set this process's routing gauges from ``flags`` and the fallback's state.

        Called on every flag refresh tick (``main``), so an idle worker's gauges follow
        the store within one refresh interval, and by ``choose`` when the flags change.
        """
        self._flags_seen = flags
        CANARY_SHARE.set(self.routed_share(flags))
        if self._fallback is not None:
            self._fallback.publish_active()

    def _products_down(self, why: str) -> None:
        # Only while this process sends users to http: otherwise there is nothing to move.
        flags = self._flags_seen
        if self._fallback is not None and flags is not None and self.routed_share(flags) > 0:
            self._fallback.products_down(why)

    def _routed(self, mode: ProductsClientMode, client: str) -> Counter:
        child = self._routed_children.get((mode, client))
        if child is None:
            child = self._routed_children[(mode, client)] = ROUTED.labels(mode.value, client)
        return child

    def _pick(
        self, mode: ProductsClientMode, flags: FeatureFlags, user_id: str, *, holding: bool
    ) -> tuple[ProductServiceClient, str]:
        local, http = self._clients.local, self._routed_http
        if mode is ProductsClientMode.SHADOW:
            return self._shadow(flags.shadow_sample_rate), "shadow"
        if local is not None and (mode is ProductsClientMode.LOCAL or holding):
            return local, "local"
        if mode is ProductsClientMode.HTTP and http is not None:
            return http, "http"
        # Canary (both clients built: choosable_modes).
        assert local is not None
        assert http is not None
        if on_http(user_id, flags.canary_share):
            return http, "http"
        return local, "local"

    def _holding(self) -> bool:
        return self._fallback is not None and self._fallback.holding

    def _shadow(self, rate: float) -> ProductServiceClient:
        # One observed view per rate in force: a request at the same rate gets the
        # same object, and a rate change builds one view (the shadow client's
        # comparisons in flight stay shared).
        if self._shadow_view is None or rate != self._shadow_rate:
            shadow = self._clients.shadow
            assert shadow is not None  # both clients built: choosable_modes
            self._shadow_view = ObservedProductClient(
                shadow.with_sample_rate(rate), ProductsClientMode.SHADOW.value, self._clients.tracer
            )
            self._shadow_rate = rate
        return self._shadow_view

    def _warn_unbuilt(self, mode: ProductsClientMode) -> None:
        now = self._monotonic()
        last = self._warned.get(mode)
        if last is not None and now - last < UNBUILT_WARNING_SECONDS:
            return
        self._warned[mode] = now
        logger.warning(
            "products_client flag %s needs clients this process did not build; serving %s",
            mode.value,
            self._clients.startup.value,
            extra={
                "products_client": mode.value,
                "startup_mode": self._clients.startup.value,
                "choosable": sorted(m.value for m in self._modes),
            },
        )

    def readiness(self, store: FlagStore) -> ReadinessCheck:
        """The ``products`` readiness check: the clients' health and the mode in force."""
        clients = self._clients

        async def report() -> dict[str, Any]:
            local = await clients.local_report() if clients.local_report else None
            http = await clients.http_report() if clients.http_report else None
            if clients.local is None:
                return http or {"mode": ProductsClientMode.HTTP.value}
            if clients.http is None:
                return local or {"mode": ProductsClientMode.LOCAL.value}
            flags = store.current()
            # Local is authoritative (background work, the rest of the users), so
            # only its failure makes orders unready; http's state is reported.
            details: dict[str, Any] = {
                **(local or {}),
                "mode": flags.products_client.value,
                "canary_share": 0 if self._holding() else flags.canary_share,
                "candidate": http or {"mode": ProductsClientMode.HTTP.value},
            }
            state = self._fallback.state() if self._fallback is not None else None
            self.publish(flags)
            if state is not None:
                # Still ready (local serves everyone), but not "up": an operator decides.
                details["status"] = "degraded"
                details["fallback"] = {"at": state.at.isoformat(), "reason": state.reason}
                if state.pending:
                    details["fallback"]["pending"] = True
            return details

        return report
