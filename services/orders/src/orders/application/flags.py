"""The flags port: a cheap snapshot per request, audited changes, a compare-and-set (ADR 0018)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from orders.config import FeatureFlags, ProductsClientMode
from seam import ACTOR
from shop_contracts.errors import DomainError, ErrorCode

FLAG_NAMES = frozenset(FeatureFlags.model_fields)
FALLBACK_ACTOR = ACTOR
"""The canary fallback's name in the audit trail; no person or tool may change flags under it."""
CANARY_FLAGS = ("canary_share", "products_client")
"""The flags the canary fallback writes: an operator's change to either ends its say."""


@dataclass(frozen=True, slots=True)
class FlagOverride:
    """A flag an operator (or the fallback) set, replacing its environment default."""

    value: object
    updated_by: str
    updated_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class FlagChange:
    """One audited change of one flag (set or reset): which, by whom, when."""

    name: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredFlags:
    """The store's own state, read where nothing else can change it: what ``change_if`` decides on."""

    flags: FeatureFlags
    overrides: Mapping[str, FlagOverride]
    changes: tuple[FlagChange, ...]
    """The audited changes after ``change_if``'s ``since``, oldest first."""


FlagUpdates = Mapping[str, object | None]
"""Flags to set, by name; ``None`` resets one to its default."""


class FlagChangeView(BaseModel):
    """One audited change of one flag."""

    name: str
    old_value: Any = Field(description="The override before (JSON); null: the default was in force")
    new_value: Any = Field(description="The override after (JSON); null: reset to the default")
    actor: str = Field(
        description="Who: the admin's user id, the CLI's --actor, or canary-fallback"
    )
    reason: str
    changed_at: datetime
    request_id: str | None = Field(description="The API request that made the change, if any")


class FlagStore(Protocol):
    """Where the run-time flags live.

    ``current()`` is synchronous and cheap (a snapshot refreshed in the background);
    ``change`` makes the new snapshot current here at once, elsewhere within a refresh.
    """

    def current(self) -> FeatureFlags:
        """The flags in force now: the overrides over the environment defaults."""
        ...

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time, by name, with who set them, when and why."""
        ...

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        """Set (or, with ``None``, reset to the default) each named flag; audited."""
        ...

    async def change_if(
        self,
        decide: Callable[[StoredFlags], FlagUpdates | None],
        *,
        since: datetime,
        actor: str,
        reason: str,
    ) -> bool:
        """Compare-and-set: write what ``decide`` makes of the stored state, atomically.

        The store reads its stored flags (not a snapshot) and its changes after
        ``since``, calls ``decide`` on them and writes the updates it returns
        (audited, as ``change`` does) before any other change can land. ``None``
        refuses: nothing is written and the answer is False; otherwise True,
        also for no updates, and for a write that committed although re-reading
        the flags afterwards failed (a retry must not write it again).
        """
        ...


class AdminFlagStore(FlagStore, Protocol):
    """A flag store an operator administers: its defaults, what it ignored, its history."""

    @property
    def defaults(self) -> FeatureFlags:
        """The environment's flags, in force where nothing is set."""
        ...

    @property
    def choosable(self) -> frozenset[ProductsClientMode]:
        """The products_client modes a change may choose in this process."""
        ...

    def ignored(self) -> Mapping[str, str]:
        """Stored flags left out because their value no longer validates, and why."""
        ...

    async def history(self, page: int, page_size: int) -> tuple[list[FlagChangeView], int]:
        """One page of the audit trail, newest first, and the number of changes."""
        ...


class InvalidFlag(DomainError, ValueError):
    """A change names an unknown flag or gives one a value it cannot take."""

    code = ErrorCode.INVALID_FLAG
    status = 422
    title = "Invalid flag"

    def __init__(self, flag: str, problem: str) -> None:
        self.flag = flag
        self.problem = problem
        super().__init__(f"{flag}: {problem}")

    def extensions(self) -> dict[str, Any]:
        # ``name`` is the value's path in the request body, as for every other
        # body validation problem (``changes`` of ``PATCH /admin/flags``).
        return {
            "flag": self.flag,
            "invalid_params": [{"name": f"changes.{self.flag}", "reason": self.problem}],
        }


class ProductsClientUnavailable(DomainError):
    """The products_client flag names a mode whose clients this process did not build."""

    code = ErrorCode.PRODUCTS_CLIENT_UNAVAILABLE
    status = 409
    title = "Products client not available"

    def __init__(self, mode: ProductsClientMode, choosable: frozenset[ProductsClientMode]) -> None:
        self.mode = mode
        self.choosable = sorted(choosable)
        super().__init__(
            f"products_client {mode.value!r} needs clients this deployment does not build"
            f" (choosable: {', '.join(self.choosable)}); change APP_PRODUCTS_CLIENT to"
            " shadow or canary first"
        )

    def extensions(self) -> dict[str, Any]:
        return {"flag": "products_client", "choosable": [m.value for m in self.choosable]}


class ReservedActor(DomainError):
    """A change made under the canary fallback's name, which only the fallback may use."""

    code = ErrorCode.RESERVED_ACTOR
    status = 422
    title = "Reserved actor"

    def __init__(self, actor: str) -> None:
        self.actor = actor
        super().__init__(
            f"actor {actor!r} is reserved for the canary fallback (readiness and the admin"
            " view treat its changes as the fallback holding the canary at 0); change flags"
            " under your own name"
        )

    def extensions(self) -> dict[str, Any]:
        return {"actor": self.actor}


def check_actor(actor: str) -> None:
    """Refuse (``ReservedActor``) a person or tool changing flags as the canary fallback."""
    if actor.strip().casefold() == FALLBACK_ACTOR:
        raise ReservedActor(actor)
