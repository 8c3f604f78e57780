"""The identity provider's public keys: fetched asynchronously, cached, refreshed with bounds."""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx
import jwt

logger = logging.getLogger(__name__)

# A JWKS is a few keys; anything far larger is not one, and is not read whole.
MAX_JWKS_BYTES = 256 * 1024
NO_KEYS_RETRY = 1.0
"""Seconds between fetches while no key is held (the unknown-kid interval applies once one is)."""


class JwksUnavailable(Exception):
    """The JWKS could not be fetched or read (reported in the log, never to a client)."""


def keys_from_jwks(document: object, algorithms: Collection[str]) -> dict[str, jwt.PyJWK]:
    """``kid`` -> key for every signing key of the set whose algorithm is allowed.

    A key's algorithm is its ``alg``, else what its type implies (RSA: RS256, EC:
    by curve); a key of an algorithm not allowed, of no ``kid``, for encryption,
    or that PyJWT cannot load is skipped, so it can never verify anything.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the document has no `keys` list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(dict(entry))
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in algorithms:
            keys[kid] = key
    return keys


class JwksKeyStore:
    """Keys by ``kid`` from one JWKS URL, for verifying tokens inside an event loop.

    - The first use fetches; later, keys older than ``max_age`` are still used
      while a refresh runs in the background (stale while revalidate), so a
      rotation or a removal reaches this process within ``max_age`` plus one
      request, and an identity provider that is down costs nothing while the
      cached keys are the ones in use.
    - An unknown ``kid`` triggers a fetch at most once per ``min_interval``
      whatever the number of such tokens (anyone can send a random ``kid``);
      while no key is held yet, at most once per ``NO_KEYS_RETRY``.
    - ``prefetch`` (at start-up) fetches before the first request needs a key.
    - One fetch runs at a time; it and every wait for it are bounded by
      ``timeout``. A failed fetch keeps the keys already held.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: Collection[str],
        timeout: float,
        max_age: float,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._algorithms = frozenset(algorithms)
        self._timeout = timeout
        self._max_age = max_age
        self._min_interval = min_interval
        self._clock = clock
        self._transport = transport
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._generation = 0

    @property
    def key_ids(self) -> frozenset[str]:
        """The ``kid``s currently held."""
        return frozenset(self._keys)

    @property
    def generation(self) -> int:
        """Changes whenever a fetch replaces the held keys: a key added, removed or changed, or re-read."""
        return self._generation

    def prefetch(self) -> None:
        """Start the first fetch now, in the background: the first requests find the keys."""
        if self._fetched_at is None:
            self._start_refresh()

    async def aclose(self) -> None:
        """Cancel a fetch still running (at shutdown)."""
        task = self._inflight
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def refresh_if_stale(self) -> None:
        """Start a background refresh when the held keys are older than ``max_age``."""
        if self._fetched_at is not None and self._clock() - self._fetched_at >= self._max_age:
            self._start_refresh()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this ``kid``, fetching if allowed; None if it is not (or not yet) known."""
        if self._fetched_at is None:
            await self._refresh()
        else:
            self.refresh_if_stale()
        found = self._keys.get(kid)
        if found is None:
            await self._refresh()
            found = self._keys.get(kid)
        return found

    def _start_refresh(self) -> asyncio.Task[None] | None:
        """The fetch in flight, or a new one unless one was attempted too recently."""
        if self._inflight is not None:
            return self._inflight
        now = self._clock()
        # With no key held every token waits on a fetch, not only unknown kids: a
        # provider that failed the first fetches is asked again within a second.
        interval = self._min_interval if self._keys else min(self._min_interval, NO_KEYS_RETRY)
        if self._attempted_at is not None and now - self._attempted_at < interval:
            return None
        self._attempted_at = now
        task = asyncio.create_task(self._fetch_and_store(), name="jwks-refresh")
        task.add_done_callback(self._forget)
        self._inflight = task
        return task

    async def _refresh(self) -> None:
        task = self._start_refresh()
        if task is None:
            return
        # shield: a caller that gives up (or is cancelled) leaves the fetch to the others.
        try:
            await asyncio.wait_for(asyncio.shield(task), self._timeout)
        except TimeoutError:
            logger.warning(
                "JWKS fetch still running after %.1fs; answering without it", self._timeout
            )

    def _forget(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None

    async def _fetch_and_store(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                document = await self._fetch()
            keys = keys_from_jwks(document, self._algorithms)
        except (TimeoutError, httpx.HTTPError, JwksUnavailable, ValueError) as exc:
            logger.warning(
                "JWKS fetch from %s failed (%s: %s); keeping %d cached key(s)",
                self._url,
                type(exc).__name__,
                exc,
                len(self._keys),
            )
            return
        if not keys:
            logger.warning("JWKS at %s holds no usable key; keeping the cached keys", self._url)
            return
        added, removed = keys.keys() - self._keys.keys(), self._keys.keys() - keys.keys()
        if added or removed:
            logger.info(
                "JWKS keys now %s (added %s, removed %s)",
                sorted(keys),
                sorted(added),
                sorted(removed),
            )
        self._keys = keys
        # Every replacement, not only a change of kids: a kid may come back with other
        # material, and what was verified with the old set is re-verified once.
        self._generation += 1
        self._fetched_at = self._clock()

    async def _fetch(self) -> Any:
        async with (
            httpx.AsyncClient(
                timeout=self._timeout, transport=self._transport, follow_redirects=False
            ) as client,
            client.stream("GET", self._url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise JwksUnavailable(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JwksUnavailable(f"larger than {MAX_JWKS_BYTES} bytes")
        return json.loads(body)
