"""Tokens this process has verified, so a token seen again skips its signature check (ADR 0021)."""

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_VERIFIED_TOKENS = 4096
"""Entries kept; a few KiB each at most (the header limit bounds a token's length)."""


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    expires: int
    not_before: int | None


class VerifiedTokens(Generic[T]):
    """The exact token string -> what its verified claims gave, for the keys in force.

    Every lookup and every insertion names the keys in force (``keys``: a JWKS
    generation, the HS256 secret); when they are not the ones the entries were
    verified with, every entry is dropped first, so a key that leaves the set
    verifies nothing more from this cache. A hit re-checks ``exp`` and ``nbf``
    (and ``iat``) against now exactly as PyJWT does; a miss goes to full
    verification, which gives the refusal its reason. Only verified tokens get
    in, oldest out first past ``max_entries``.
    """

    def __init__(
        self, max_entries: int = MAX_VERIFIED_TOKENS, clock: Callable[[], float] = time.time
    ) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._keys: object = None

    def __len__(self) -> int:
        return len(self._entries)

    def _keys_in_force(self, keys: object) -> None:
        if keys != self._keys:
            self._entries.clear()
            self._keys = keys

    def get(self, token: str, keys: object) -> T | None:
        """What ``token`` gave when verified with ``keys``, if it is still within its times."""
        self._keys_in_force(keys)
        entry = self._entries.get(token)
        if entry is None:
            return None
        now = self._clock()
        # PyJWT's rules, leeway 0: expired once exp <= now; not yet valid while nbf > now.
        if entry.expires <= now or (entry.not_before is not None and entry.not_before > now):
            del self._entries[token]
            return None
        return entry.value

    def put(self, token: str, keys: object, claims: Mapping[str, Any], value: T) -> None:
        """Keep ``value`` for ``token``, whose ``claims`` were just verified with ``keys``."""
        self._keys_in_force(keys)
        # int(), as PyJWT reads these claims; both passed its checks already.
        starts = [int(claims[name]) for name in ("nbf", "iat") if name in claims]
        self._entries[token] = _Entry(value, int(claims["exp"]), max(starts) if starts else None)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every token."""
        self._entries.clear()
