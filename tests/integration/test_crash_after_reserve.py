"""Orders dies between reserving stock and saving the order: the hold lapses, nothing is lost."""

import json
from uuid import UUID, uuid4

import httpx
import pytest

from tests.integration.stack import API, Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TTL_SECONDS = 3
CRASH_EXIT_CODE = 70  # orders.adapters.faults


def _crashed_reservation(orders: ServiceProcess) -> UUID:
    """The reservation the injected crash logged just before the process died."""
    for line in orders.read_log().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "injected crash after reserve":
                return UUID(record["reservation_id"])
    raise AssertionError("the crash was not logged")


def test_crash_between_reserve_and_commit_returns_the_stock(stack: Stack, shop: Shop) -> None:
    products = stack.start_products(
        {"APP_RESERVATION_TTL_SECONDS": str(TTL_SECONDS), "APP_SWEEP_INTERVAL_SECONDS": "0.3"}
    )
    product_id = shop.add_product(products, stock=5)
    user = f"crash-{uuid4().hex[:8]}"
    key = uuid4().hex

    doomed = stack.start_orders("http", products, APP_FAULT_INJECTION="exit_after_reserve")
    with pytest.raises(httpx.TransportError):
        shop.place(doomed, user, {product_id: 2}, key=key)
    assert doomed.wait_exit(timeout=10) == CRASH_EXIT_CODE

    reservation_id = _crashed_reservation(doomed)
    reservation_url = f"{products.url}{API}/reservations/{reservation_id}"

    def reservation_status() -> str:
        response = shop.http.get(reservation_url, headers=shop.service_auth())
        assert response.status_code == 200, response.text
        status: str = response.json()["status"]
        return status

    # The hold outlived the process that took it, then lapsed on its own.
    assert reservation_status() in ("held", "expired")
    eventually(lambda: True if reservation_status() == "expired" else None, timeout=15)
    eventually(lambda: True if shop.stock(products, product_id) == 5 else None, timeout=5)

    orders = stack.start_orders("http", products)
    assert shop.get(orders, user).json()["total"] == 0  # no order row was committed

    # The key's hold is gone, so replaying it must not take stock again.
    replay = shop.place(orders, user, {product_id: 2}, key=key)
    assert replay.status_code == 409, replay.text
    assert replay.json()["code"] == "reservation_expired"
    assert shop.stock(products, product_id) == 5

    fresh = shop.place(orders, user, {product_id: 2})
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["status"] == "confirmed"
    assert shop.stock(products, product_id) == 3
    assert [o["id"] for o in shop.all_orders(orders, user)] == [fresh.json()["id"]]
