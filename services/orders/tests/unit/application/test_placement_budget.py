"""A placement bounds its product calls by one budget; its releases run outside it."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from fakes import FakeProductClient
from harness import make_settings, running_api

from servicekit.deadlines import remaining
from shop_contracts.reservations import Reservation, ReservationLineRequest


@dataclass
class BudgetRecordingClient(FakeProductClient):
    """Records the budget left when each call starts."""

    budgets: dict[str, float | None] = field(default_factory=dict)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        self.budgets["reserve"] = remaining()
        return await super().reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        self.budgets["confirm"] = remaining()
        return await super().confirm(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        self.budgets["release_by_key"] = remaining()
        return await super().release_by_key(reservation_key)


async def test_reserve_and_confirm_run_within_the_placement_budget(orders_db_url: str) -> None:
    products = BudgetRecordingClient()
    mug = products.add(stock=3)
    settings = make_settings(orders_db_url, placement_budget_seconds=7.5)

    async with running_api(settings, product_client=products) as api:
        response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 201, response.text
    for call in ("reserve", "confirm"):
        left = products.budgets[call]
        assert left is not None, call
        assert 0 < left <= 7.5, (call, left)


async def test_a_release_by_key_after_a_lost_answer_runs_outside_the_budget(
    orders_db_url: str,
) -> None:
    products = BudgetRecordingClient()
    mug = products.add(stock=3)
    products.lose_answer["reserve"] = 1
    settings = make_settings(orders_db_url, placement_budget_seconds=7.5)

    async with running_api(settings, product_client=products) as api:
        response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 503, response.text
    assert products.budgets["reserve"] is not None
    assert products.budgets["release_by_key"] is None
    assert products.stock[mug.id] == 3
