"""What the Kubernetes connection budget assumes (deploy/k8s_check/budget.py): an orders
process in local mode holds two engines, each with at most pool + overflow connections."""

import asyncio

import pytest
from harness import make_settings, running_api
from sqlalchemy import text
from sqlalchemy.engine import make_url

from products.testing import Catalogue
from servicekit.db import create_engine

from .conftest import Databases, local_mode

pytestmark = pytest.mark.postgres

_POOL, _OVERFLOW = 2, 1


async def test_a_local_mode_process_stays_within_two_pools_under_a_burst(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10_000, price="1.00")
    settings = make_settings(
        migrated.orders, **local_mode(migrated, db_pool_size=_POOL, db_max_overflow=_OVERFLOW)
    )
    names = [make_url(url).database for url in (migrated.orders, migrated.products)]
    observer = create_engine(migrated.orders, pool_size=1, max_overflow=0)
    backends = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"
    )

    async def connections() -> set[int]:
        async with observer.connect() as conn:
            return set((await conn.execute(backends, {"names": names})).scalars())

    try:
        before = await connections()  # the fixtures' own, not the app's
        opened = 0
        async with running_api(settings) as api:
            burst = asyncio.gather(*(api.place(f"buyer-{i}", [(product.id, 1)]) for i in range(60)))
            while not burst.done():
                opened = max(opened, len(await connections() - before))
                await asyncio.sleep(0.005)
            responses = await burst
    finally:
        await observer.dispose()

    assert {r.status_code for r in responses} == {201}
    assert opened <= 2 * (_POOL + _OVERFLOW)
    assert opened > _POOL + _OVERFLOW  # both engines took connections: the budget counts both
