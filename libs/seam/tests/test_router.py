"""Seam: per-request choice, sticky and monotonic canary, shadow rate per request."""

import logging

import pytest

from libs.seam.tests.flagbook import Flags
from libs.seam.tests.inventory import (
    ROUTED,
    Inventory,
    MemoryInventory,
    inventory_seam,
    metric,
)
from seam import Mode, Seam, bucket, choosable, on_remote

USERS = [f"user-{n}" for n in range(10_000)]
SHARE = "seamtest_flags_canary_share"


class Monotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _seam(
    startup: Mode = Mode.CANARY,
    local: MemoryInventory | None = None,
    remote: MemoryInventory | None = None,
    monotonic: Monotonic | None = None,
) -> Seam[Inventory]:
    return inventory_seam(startup, local=local, remote=remote, monotonic=monotonic or Monotonic())


def _both(startup: Mode = Mode.CANARY) -> Seam[Inventory]:
    return _seam(startup, MemoryInventory(), MemoryInventory())


def _remote_users(seam: Seam[Inventory], share: int) -> set[str]:
    flags = Flags(Mode.CANARY, share)
    return {user for user in USERS if seam.choose(flags, user) is seam.remote}


def test_a_user_gets_the_same_client_on_every_request() -> None:
    seam = _both()
    flags = Flags(Mode.CANARY, 50)

    for user in USERS[:200]:
        first = seam.choose(flags, user)
        assert all(seam.choose(flags, user) is first for _ in range(5))
        assert first is (seam.remote if on_remote(user, 50) else seam.local)


def test_raising_the_share_only_moves_users_from_local_to_remote() -> None:
    seam = _both()

    at_5, at_50, at_100 = (_remote_users(seam, share) for share in (5, 50, 100))

    assert at_5 < at_50 < at_100
    assert at_100 == set(USERS)


@pytest.mark.parametrize("share", [1, 5, 25, 50, 90])
def test_the_share_of_users_on_remote_is_close_to_the_percentage(share: int) -> None:
    on = len(_remote_users(_both(), share))

    # 10,000 users; the binomial standard deviation is at most 50 users (0.5 %).
    assert abs(on - share * 100) <= 200, on


def test_zero_and_a_hundred_percent_are_exact() -> None:
    seam = _both()

    assert _remote_users(seam, 0) == set()
    assert _remote_users(seam, 100) == set(USERS)


def test_the_bucket_is_sha256_of_the_key() -> None:
    # Fixed, so every process (and every release) puts a user in the same bucket.
    assert bucket("alice") == bucket("alice")
    assert {bucket(u) for u in USERS[:100]} <= set(range(10_000))
    assert bucket("alice") == int("2bd806c97f0e00af", 16) % 10_000


@pytest.mark.parametrize(("mode", "client"), [(Mode.LOCAL, "local"), (Mode.HTTP, "http")])
def test_single_client_modes_send_everyone_to_that_client(mode: Mode, client: str) -> None:
    seam = _both()
    labels = {"mode": mode.value, "client": client}
    before = metric(ROUTED, **labels)

    chosen = {id(seam.choose(Flags(mode, 50), user)) for user in USERS[:50]}

    assert chosen == {id(seam.local if mode is Mode.LOCAL else seam.remote)}
    assert metric(ROUTED, **labels) == before + 50


def test_a_mode_not_built_is_served_by_the_startup_mode_with_one_warning_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Monotonic()
    seam = _seam(Mode.LOCAL, local=MemoryInventory(), monotonic=clock)
    labels = {"mode": "canary", "client": "local"}
    before = metric(ROUTED, **labels)

    with caplog.at_level(logging.WARNING, "seam.router"):
        for _ in range(3):
            assert seam.choose(Flags(Mode.CANARY, 100), "alice") is seam.local
        clock.now += 61
        assert seam.choose(Flags(Mode.HTTP), "alice") is seam.local
        assert seam.choose(Flags(Mode.CANARY, 100), "alice") is seam.local

    warnings = [r for r in caplog.records if "did not build" in r.getMessage()]
    assert [r.mode for r in warnings] == ["canary", "http", "canary"]  # type: ignore[attr-defined]
    assert warnings[0].getMessage() == (
        "mode flag canary needs clients this process did not build; serving local"
    )
    assert metric(ROUTED, **labels) == before + 4
    assert seam.modes == frozenset({Mode.LOCAL}) == choosable(Mode.LOCAL)


def test_a_remote_only_process_serves_every_mode_with_remote() -> None:
    seam = _seam(Mode.HTTP, remote=MemoryInventory())

    for mode in Mode:
        assert seam.choose(Flags(mode, 0), "alice") is seam.remote
    assert seam.authoritative is seam.remote
    assert (seam.local, seam.shadow, seam.fallback) == (None, None, None)


def test_background_work_uses_local_whenever_it_is_built() -> None:
    seam = _both(Mode.CANARY)

    assert seam.authoritative is seam.local


async def test_the_shadow_sample_rate_is_the_requests() -> None:
    local, remote = MemoryInventory({"mug": 1}), MemoryInventory({"mug": 1})
    seam = _seam(Mode.SHADOW, local, remote)
    never, always = Flags(Mode.SHADOW, rate=0.0), Flags(Mode.SHADOW, rate=1.0)

    client = seam.choose(never, "alice")
    assert seam.choose(never, "bob") is client  # one view per rate in force
    await client.stock("mug")
    await seam.choose(always, "alice").stock("mug")
    assert seam.shadow is not None
    await seam.shadow.drain()

    assert local.calls == ["stock", "stock"]
    assert remote.calls == ["stock"]  # only the read at rate 1 was mirrored


@pytest.mark.parametrize(
    ("startup", "local", "remote"),
    [
        (Mode.LOCAL, False, False),
        (Mode.LOCAL, True, True),
        (Mode.HTTP, True, False),
        (Mode.CANARY, True, False),
        (Mode.SHADOW, False, True),
    ],
)
def test_the_startup_mode_needs_exactly_its_implementations(
    startup: Mode, local: bool, remote: bool
) -> None:
    with pytest.raises(ValueError, match="needs"):
        _seam(
            startup,
            MemoryInventory() if local else None,
            MemoryInventory() if remote else None,
        )


def test_an_implementation_counts_as_built_whatever_its_truthiness() -> None:
    class Empty(MemoryInventory):
        def __len__(self) -> int:
            return 0

    assert _seam(Mode.LOCAL, local=Empty()).local is not None


@pytest.mark.parametrize(
    ("mode", "share", "routed"),
    [(Mode.LOCAL, 50, 0), (Mode.SHADOW, 50, 0), (Mode.CANARY, 50, 50), (Mode.HTTP, 50, 100)],
)
def test_the_share_gauge_is_the_share_routed_to_remote(mode: Mode, share: int, routed: int) -> None:
    seam = _both()
    seam.publish(Flags(Mode.CANARY, 7))

    seam.choose(Flags(mode, share), "alice")

    assert metric(SHARE) == routed


def test_the_share_gauge_of_a_mode_not_built_is_the_startup_modes() -> None:
    _seam(Mode.LOCAL, local=MemoryInventory()).publish(Flags(Mode.CANARY, 50))
    assert metric(SHARE) == 0

    _seam(Mode.HTTP, remote=MemoryInventory()).publish(Flags(Mode.LOCAL, 0))
    assert metric(SHARE) == 100
