"""What operators are told about the mode in force: readiness's report and the start-up warning."""

from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import InMemoryFlagStore, SqlFlagStore, mode_report, mode_surprise
from libs.cutover.tests.flags.example import DEFAULTS, SHOP_FLAGS, TABLES


async def test_the_start_up_mode_in_force_is_no_surprise(engine: AsyncEngine) -> None:
    store = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, choosable={"local", "http"})
    await store.refresh()

    assert mode_surprise(store, SHOP_FLAGS) is None
    assert mode_report(store, SHOP_FLAGS.seam) == {
        "mode": "shadow",
        "startup_mode": "shadow",
        "choosable": ["http", "local"],
    }


async def test_a_stored_mode_is_reported_with_who_set_it(engine: AsyncEngine) -> None:
    store = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS)
    await store.change({"inventory_client": "http"}, actor="ops", reason="all in")

    surprise = mode_surprise(store, SHOP_FLAGS)
    report = mode_report(store, SHOP_FLAGS.seam)

    assert surprise is not None
    assert surprise.startswith(
        "inventory_client http is in force, not the start-up mode shadow (SHOP_INVENTORY):"
        " set by ops at "
    )
    assert surprise.endswith(
        "(all in); `shop flags set inventory_client=null` returns to the start-up mode"
    )
    assert (report["mode"], report["mode_set"]["by"], report["mode_set"]["reason"]) == (
        "http",
        "ops",
        "all in",
    )


async def test_the_memory_store_is_a_flag_store_of_the_same_model() -> None:
    store = InMemoryFlagStore(SHOP_FLAGS, DEFAULTS)

    flags = await store.change({"inventory_rate": 0}, actor="ops", reason="quiet")

    assert (flags.inventory_rate, store.overrides()["inventory_rate"].value) == (0.0, 0.0)
