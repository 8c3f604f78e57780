"""Refused flag changes: an invalid flag, a mode this process did not build, the fallback's name."""

from typing import Any

from seam import ACTOR, MODES, Mode, Side
from shop_contracts.errors import DomainError, ErrorCode

FALLBACK_ACTOR = ACTOR
"""The canary fallback's name in the audit trail; no person or tool may change flags under it."""
_BUILD_BOTH = " or ".join(mode.value for mode, spec in MODES.items() if spec.needs == set(Side))


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


class ModeUnavailable(DomainError):
    """The mode flag names a mode whose implementations this process did not build.

    A service subclasses it with its problem ``code`` and ``title``
    (``ServiceFlags.unavailable``).
    """

    status = 409

    def __init__(self, flag: str, mode: Mode, choosable: frozenset[Mode], setting: str) -> None:
        self.flag = flag
        self.mode = mode
        self.choosable = sorted(choosable)
        super().__init__(
            f"{flag} {mode.value!r} needs clients this deployment does not build"
            f" (choosable: {', '.join(self.choosable)}); change {setting} to"
            f" {_BUILD_BOTH} first"
        )

    def extensions(self) -> dict[str, Any]:
        return {"flag": self.flag, "choosable": [m.value for m in self.choosable]}


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
