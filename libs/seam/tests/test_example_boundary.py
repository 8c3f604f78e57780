"""One behaviour through every mode: the example boundary in process and served over ASGI."""

from collections.abc import AsyncIterator

import httpx
import pytest

from libs.seam.tests.flagbook import Flags
from libs.seam.tests.inventory import (
    COMPARISONS,
    Inventory,
    MemoryInventory,
    NotStocked,
    inventory_seam,
    metric,
)
from libs.seam.tests.served import HttpInventory, inventory_app
from seam import Mode, Seam, on_remote

MODES = ("local", "http", "shadow", "canary-local-user", "canary-remote-user")


@pytest.fixture(params=MODES)
async def inventory(request: pytest.FixtureRequest) -> AsyncIterator[Inventory]:
    """The client a request in this mode gets; both sides serve one shelf."""
    shelf = MemoryInventory({"mug": 5, "tea": 2})
    transport = httpx.ASGITransport(app=inventory_app(shelf))
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as http:
        seam: Seam[Inventory] = inventory_seam(Mode.CANARY, local=shelf, remote=HttpInventory(http))
        mode: str = request.param
        flags = Flags(mode=Mode(mode.split("-")[0]), share=50)
        wanted = mode == "canary-remote-user"
        user = next(u for u in (f"u{n}" for n in range(100)) if on_remote(u, 50) is wanted)
        client = seam.choose(flags, user)
        disagreements = _disagreements()
        yield client
        assert seam.shadow is not None
        await seam.shadow.drain()
        assert _disagreements() == disagreements  # one shelf: every comparison matches
        await seam.aclose()


def _disagreements() -> float:
    return sum(
        metric(COMPARISONS, method=method, result=result)
        for method in ("stock", "lookup")
        for result in ("mismatch", "settled", "candidate_error", "candidate_timeout")
    )


async def test_a_stocked_item_reads_its_level(inventory: Inventory) -> None:
    stock = await inventory.stock("mug")

    assert (stock.item, stock.level) == ("mug", 5)


async def test_an_item_not_carried_is_the_same_error_in_every_mode(inventory: Inventory) -> None:
    with pytest.raises(NotStocked) as raised:
        await inventory.stock("kettle")

    assert raised.value.item == "kettle"


async def test_a_lookup_lists_the_found_and_the_missing(inventory: Inventory) -> None:
    found = await inventory.lookup(["tea", "kettle", "mug"])

    assert [(s.item, s.level) for s in found.found] == [("tea", 2), ("mug", 5)]
    assert found.missing == ["kettle"]


async def test_a_take_is_seen_by_the_next_read(inventory: Inventory) -> None:
    taken = await inventory.take("mug", 2)

    assert taken.level == 3
    assert (await inventory.stock("mug")).level == 3
