"""The background sweeper started by the facade really returns lapsed stock."""

import asyncio

from products.facade import ProductsFacade, upgrade_products_database
from products.testing import Catalogue
from shop_contracts.reservations import ReservationLineRequest, ReservationStatus


async def test_started_facade_sweeps_lapsed_reservations_in_the_background(
    isolated_database_url: str,
) -> None:
    await upgrade_products_database(isolated_database_url)
    facade = ProductsFacade.from_database_url(
        isolated_database_url, reservation_ttl_seconds=0.2, sweep_interval_seconds=0.05
    )
    catalogue = Catalogue(facade)
    await facade.start(run_sweeper=True)
    try:
        product = await catalogue.add(stock=5)
        line = ReservationLineRequest(product_id=product.id, quantity=5)
        reservation = await facade.reserve("lapses", [line])
        assert await catalogue.stock(product) == 0

        # Poll (the sweeper has no completion signal to wait on), for at most 2 s.
        for _ in range(40):
            if await catalogue.stock(product) == 5:
                break
            await asyncio.sleep(0.05)

        assert await catalogue.stock(product) == 5
        assert (await facade.get_reservation(reservation.id)).status is ReservationStatus.EXPIRED
    finally:
        await facade.aclose()
    assert not facade.sweeper.running
