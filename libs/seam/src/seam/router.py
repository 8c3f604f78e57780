"""``Seam``: both implementations composed once, and the one that serves each request (ADR 0025)."""

import logging
import time
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Generic, TypeVar

from opentelemetry.trace import Tracer
from prometheus_client import Counter

from seam.chain import Link, client, compose, on
from seam.compare import Comparer
from seam.fallback import Fallback
from seam.methods import MethodTable
from seam.metrics import SeamMetrics
from seam.modes import MODES, FlagNames, Mode, Serves, Side, choosable, on_remote
from seam.observe import ErrorCode, Observe, Outcome
from seam.shadow import Shadow

logger = logging.getLogger(__name__)

T = TypeVar("T")
UNBUILT_WARNING_SECONDS = 60.0


class Seam(Generic[T]):
    """Chooses, per request, the client (one chain composed once) from the flags and a sticky key."""

    def __init__(
        self,
        table: MethodTable,
        startup: Mode,
        *,
        local: object | None,
        remote: object | None,
        metrics: SeamMetrics,
        flags: FlagNames,
        outcome: Outcome,
        error_code: ErrorCode,
        comparer: Comparer,
        shadow_timeout: float,
        fallback: Fallback | None = None,
        tracer: Tracer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        built = {
            side for side, impl in ((Side.LOCAL, local), (Side.REMOTE, remote)) if impl is not None
        }
        if built != MODES[startup].needs:
            raise ValueError(f"{startup} mode needs {sorted(MODES[startup].needs)} built")
        self.startup = startup
        self.modes = choosable(startup)
        self.metrics = metrics
        self._table = table
        self._flags = flags
        self._mode_of = attrgetter(flags.mode)
        self._monotonic = monotonic
        self._warned: dict[Mode, float] = {}
        self._routed: dict[tuple[str, str], Counter] = {}
        self._flags_seen: object | None = None
        self._shadow_view: tuple[float, T] | None = None

        self._observing = (metrics, outcome, error_code, tracer)
        self.local: T | None = None
        self.remote: T | None = None
        self.routed_remote: T | None = None
        self.shadow: Shadow | None = None
        self.fallback = fallback if local is not None and remote is not None else None
        self._local_impl = local
        if local is not None:
            self.local = self._client(Mode.LOCAL, local)
        if remote is not None:
            self.remote = self.routed_remote = self._client(Mode.HTTP, remote)
            if self.fallback is not None:
                self.routed_remote = self._client(Mode.HTTP, remote, self.fallback)
        if local is not None and remote is not None:
            # The candidate is the remote path's own chain: its calls keep the ``http`` series.
            candidate = compose([self._observe(Mode.HTTP)], on(remote))
            self.shadow = Shadow(candidate, comparer, metrics, shadow_timeout, tracer=tracer)

    def _observe(self, mode: Mode) -> Observe:
        return Observe(mode.value, *self._observing)

    def _client(self, mode: Mode, implementation: object, *links: Link) -> T:
        chain = compose([self._observe(mode), *links], on(implementation))
        return client(self._table, chain, f"Seam{mode.value.title()}Client")  # type: ignore[no-any-return]

    @property
    def authoritative(self) -> T:
        """The client for background work: local when built, else remote."""
        chosen = self.local or self.remote
        assert chosen is not None
        return chosen

    @property
    def holding(self) -> bool:
        """The fallback tripped and this process routes everyone local until the flags show it."""
        return self.fallback is not None and self.fallback.holding

    def choose(self, flags: Any, key: str) -> T:
        """The client that serves this request (and every call it makes)."""
        holding = self.holding
        if flags is not self._flags_seen:
            self.publish(flags)
        mode: Mode = self._mode_of(flags)
        served = mode
        if mode not in self.modes:
            self._warn_unbuilt(mode)
            served = self.startup
        chosen, label = self._pick(MODES[served].serves, flags, key, holding)
        counter = self._routed.get((mode, label))
        if counter is None:
            counter = self._routed[(mode, label)] = self.metrics.routed.labels(mode.value, label)
        counter.inc()
        return chosen

    def _pick(self, serves: Serves, flags: Any, key: str, holding: bool) -> tuple[T, str]:
        local, remote = self.local, self.routed_remote
        if serves is Serves.SHADOW:
            return self._shadow_at(getattr(flags, self._flags.rate)), "shadow"
        if local is not None and (serves is Serves.LOCAL or holding):
            return local, "local"
        assert remote is not None
        if serves is Serves.REMOTE:
            return remote, "http"
        assert local is not None
        if on_remote(key, getattr(flags, self._flags.share)):
            return remote, "http"
        return local, "local"

    def _shadow_at(self, rate: float) -> T:
        # One view per rate in force; every view shares the comparisons in flight.
        view = self._shadow_view
        if view is None or view[0] != rate:
            assert self.shadow is not None
            shadowed = self._client(Mode.SHADOW, self._local_impl, self.shadow.at(rate))
            view = self._shadow_view = (rate, shadowed)
        return view[1]

    def routed_share(self, flags: Any) -> int:
        """The percent of users these flags send to remote here (0 while the fallback holds)."""
        if self.holding:
            return 0
        served: Mode = self._mode_of(flags)
        if served not in self.modes:
            served = self.startup
        serves = MODES[served].serves
        if serves is Serves.REMOTE:
            return 100
        if serves is Serves.SPLIT:
            share: int = getattr(flags, self._flags.share)
            return share
        return 0  # local, or shadow (local answers; remote only sees mirrored reads)

    def publish(self, flags: Any) -> None:
        """Set the routing gauges from ``flags`` and the fallback (every flag refresh)."""
        self._flags_seen = flags
        self.metrics.canary_share.set(self.routed_share(flags))
        if self.fallback is not None:
            self.fallback.publish_active()

    def remote_down(self, why: str) -> None:
        """The remote client's breaker opened: trip the fallback if users are on remote."""
        flags = self._flags_seen
        if self.fallback is not None and flags is not None and self.routed_share(flags) > 0:
            self.fallback.remote_down(why)

    async def aclose(self) -> None:
        """Stop the comparisons in flight and the fallback's pending write."""
        try:
            if self.shadow is not None:
                await self.shadow.aclose()
        finally:
            # Even if stopping the comparisons fails or is cancelled: the fallback's
            # last attempt at its write is what keeps other processes off a bad remote.
            if self.fallback is not None:
                await self.fallback.aclose()

    def _warn_unbuilt(self, mode: Mode) -> None:
        now = self._monotonic()
        last = self._warned.get(mode)
        if last is not None and now - last < UNBUILT_WARNING_SECONDS:
            return
        self._warned[mode] = now
        logger.warning(
            "%s flag %s needs clients this process did not build; serving %s",
            self._flags.mode,
            mode.value,
            self.startup.value,
            extra={
                self._flags.mode: mode.value,
                "startup_mode": self.startup.value,
                "choosable": sorted(m.value for m in self.modes),
            },
        )
