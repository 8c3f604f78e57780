"""The modes of the seam in one table: what each needs built, and whom it serves (ADR 0025)."""

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    """How requests reach the boundary: in process, remote, both compared, or split by user."""

    LOCAL = "local"
    HTTP = "http"
    SHADOW = "shadow"
    CANARY = "canary"


class Side(StrEnum):
    """One of the two implementations."""

    LOCAL = "local"
    REMOTE = "remote"


class Serves(StrEnum):
    """Who answers a request in a mode."""

    LOCAL = "local"  # the in-process implementation
    REMOTE = "remote"  # the remote one, judged by the canary fallback when local exists
    SHADOW = "shadow"  # local answers; sampled reads mirrored to remote and compared
    SPLIT = "split"  # ``canary_share`` percent of keys on remote, sticky, the rest local


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """What a mode needs built (a process started in it builds exactly that) and who serves."""

    needs: frozenset[Side]
    serves: Serves


BOTH = frozenset(Side)
MODES: dict[Mode, ModeSpec] = {
    Mode.LOCAL: ModeSpec(frozenset({Side.LOCAL}), Serves.LOCAL),
    Mode.HTTP: ModeSpec(frozenset({Side.REMOTE}), Serves.REMOTE),
    Mode.SHADOW: ModeSpec(BOTH, Serves.SHADOW),
    Mode.CANARY: ModeSpec(BOTH, Serves.SPLIT),
}


def choosable(startup: Mode) -> frozenset[Mode]:
    """The run-time modes a process started in ``startup`` has the implementations for."""
    built = MODES[startup].needs
    return frozenset(mode for mode, spec in MODES.items() if spec.needs <= built)


@dataclass(frozen=True, slots=True)
class FlagNames:
    """Where the seam's three flags are on a flag snapshot (attribute names)."""

    mode: str
    share: str
    rate: str


BUCKETS = 10_000


def bucket(key: str) -> int:
    """The key's fixed place in 0..9999; the canary serves buckets below ``share * 100``."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def on_remote(key: str, share: int) -> bool:
    """Whether a canary at ``share`` % sends ``key`` to remote (sticky; a raise only adds keys)."""
    return bucket(key) < share * (BUCKETS // 100)
