"""An example boundary for the seam's own tests: a tiny inventory, in process and remote."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from opentelemetry.trace import Tracer
from prometheus_client import REGISTRY
from pydantic import BaseModel, ValidationError

from seam import (
    Fallback,
    FlagNames,
    Method,
    MethodTable,
    Mode,
    ModelComparer,
    Seam,
    SeamMetrics,
    work_started,
)


class Stock(BaseModel):
    """How many of one item are on the shelf."""

    item: str
    level: int


class Lookup(BaseModel):
    """Several items at once: those stocked, and those not."""

    found: list[Stock]
    missing: list[str]


class InventoryError(Exception):
    """An error the inventory's contract defines; ``code`` names it."""

    code = "inventory_error"


class NotStocked(InventoryError):
    """The item is not carried: an answer, compared by ``item``."""

    code = "not_stocked"

    def __init__(self, item: str) -> None:
        self.item = item
        super().__init__(f"{item} is not stocked")


class InventoryDown(InventoryError):
    """The inventory gave no answer."""

    code = "inventory_down"


class QueueFull(InventoryDown):
    """This process's own queue refused the call: back-pressure, the remote was never asked."""


class Inventory(Protocol):
    """The example boundary: two reads and a write."""

    async def stock(self, item: str) -> Stock:
        """One item's level; ``NotStocked`` when it is not carried."""
        ...

    async def lookup(self, items: Sequence[str]) -> Lookup:
        """Several items in one call."""
        ...

    async def take(self, item: str, quantity: int) -> Stock:
        """Take ``quantity`` off the shelf."""
        ...


METHODS = MethodTable(
    Inventory,
    [Method("stock", reads=True), Method("lookup", reads=True), Method("take", reads=False)],
)
COMPARER = ModelComparer(
    answers=(InventoryError, ValidationError),
    unavailable=(InventoryDown,),
    error_attributes=("item",),
)
FLAGS = FlagNames(mode="mode", share="share", rate="rate")
FAILED = frozenset({InventoryDown.code, "error"})
METRICS = SeamMetrics("seamtest", "inventory")
"""Built once: prometheus-client's registry is process-global."""
CALLS = "seamtest_inventory_call_duration_seconds_count"
COMPARISONS = "seamtest_inventory_shadow_comparisons_total"
ROUTED = "seamtest_inventory_routed_total"


def outcome_of(exc: BaseException | None) -> str:
    """``ok``, the contract's code, ``queue_full`` or ``error``."""
    if exc is None:
        return "ok"
    if isinstance(exc, QueueFull):
        return "queue_full"
    if isinstance(exc, InventoryError):
        return exc.code
    return "error"


def error_code(exc: BaseException) -> str | None:
    """The contract's code of ``exc``, if it has one."""
    return exc.code if isinstance(exc, InventoryError) else None


def inventory_seam(
    startup: Mode,
    *,
    local: Inventory | None = None,
    remote: Inventory | None = None,
    fallback: Fallback | None = None,
    tracer: Tracer | None = None,
    shadow_timeout: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> Seam[Inventory]:
    """The seam over the example boundary, as orders' ``product_seam`` is over products."""
    return Seam(
        METHODS,
        startup,
        local=local,
        remote=remote,
        metrics=METRICS,
        flags=FLAGS,
        outcome=outcome_of,
        error_code=error_code,
        comparer=COMPARER,
        shadow_timeout=shadow_timeout,
        fallback=fallback,
        tracer=tracer,
        monotonic=monotonic,
    )


def metric(name: str, **labels: str) -> float:
    """A sample's value in the process-global registry (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class MemoryInventory:
    """The in-process implementation over a dict, with a configurable delay and failure."""

    def __init__(
        self,
        levels: Mapping[str, int] | None = None,
        *,
        delay: float = 0.0,
        error: Exception | None = None,
    ) -> None:
        self.levels = dict(levels or {})
        self.delay = delay
        self.error = error
        self.calls: list[str] = []

    async def _enter(self, method: str) -> None:
        self.calls.append(method)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error

    def _level(self, item: str) -> int:
        """The level ``stock`` reports (a hook for inventories whose level changes)."""
        if item not in self.levels:
            raise NotStocked(item)
        return self.levels[item]

    async def stock(self, item: str) -> Stock:
        """One item's level."""
        await self._enter("stock")
        return Stock(item=item, level=self._level(item))

    async def lookup(self, items: Sequence[str]) -> Lookup:
        """Several items."""
        await self._enter("lookup")
        return Lookup(
            found=[Stock(item=i, level=self.levels[i]) for i in items if i in self.levels],
            missing=[i for i in items if i not in self.levels],
        )

    async def take(self, item: str, quantity: int) -> Stock:
        """Take ``quantity`` off the shelf."""
        await self._enter("take")
        self.levels[item] = self._level(item) - quantity
        return Stock(item=item, level=self.levels[item])


class RemoteInventory(MemoryInventory):
    """The fake remote: optionally queues for one of ``slots`` before its work starts.

    Like an HTTP client's bulkhead, it calls ``seam.work_started`` once it holds a
    slot, and refuses with ``QueueFull`` after ``queue_seconds`` without one.
    """

    def __init__(
        self,
        levels: Mapping[str, int] | None = None,
        *,
        slots: int | None = None,
        queue_seconds: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(levels, **kwargs)
        self._slots = asyncio.Semaphore(slots) if slots is not None else None
        self._queue_seconds = queue_seconds

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._slots is None:
            yield
            return
        try:
            async with asyncio.timeout(self._queue_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise QueueFull("no slot freed up in time") from None
        try:
            work_started()
            yield
        finally:
            self._slots.release()

    async def stock(self, item: str) -> Stock:
        """One item's level, once a slot is free."""
        async with self._slot():
            return await super().stock(item)

    async def lookup(self, items: Sequence[str]) -> Lookup:
        """Several items, once a slot is free."""
        async with self._slot():
            return await super().lookup(items)

    async def take(self, item: str, quantity: int) -> Stock:
        """Take stock, once a slot is free."""
        async with self._slot():
            return await super().take(item, quantity)
