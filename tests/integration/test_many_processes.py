"""Two processes of each service on one pair of databases, one of each with two workers.

Background work must not care how many copies of it run: every order's
confirmation e-mail goes out once, however many outbox relays poll, and
every lapsed hold's stock comes back once, however many sweepers run.
``/metrics`` of a process with two workers sums both workers' samples.
"""

import json
from collections import Counter
from uuid import UUID, uuid4

import pytest

from tests.integration.stack import Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ORDERS_PER_PROCESS = 6
LAPSING_HOLDS = 8
STOCK = 100
# Worker processes start one after another's imports on a busy two-core host.
WORKERS_READY = 120.0
PRODUCTS_ENV = {
    "APP_RESERVATION_TTL_SECONDS": "1",
    "APP_SWEEP_INTERVAL_SECONDS": "0.2",
}


def _emails(processes: list[ServiceProcess]) -> Counter[str]:
    """Confirmation e-mails logged by the given orders processes, by dedupe key."""
    sent = Counter[str]()
    for process in processes:
        for line in process.read_log().splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("message") == "email":
                sent[record["dedupe_key"]] += 1
    return sent


def _expired(shop: Shop, processes: list[ServiceProcess]) -> float:
    return sum(
        value
        for process in processes
        for _, value in shop.metric_samples(process, "products_reservations_expired")
    )


def _hold(shop: Shop, products: ServiceProcess, product_id: UUID) -> None:
    response = shop.http.post(
        f"{products.url}/api/v1/reservations",
        json={
            "reservation_key": f"lapsing-{uuid4().hex}",
            "lines": [{"product_id": str(product_id), "quantity": 1}],
        },
        headers=shop.service_auth(),
    )
    assert response.status_code == 201, response.text


def test_two_of_each_send_each_email_once_and_return_each_hold_once(
    stack: Stack, shop: Shop
) -> None:
    stack.ready_timeout = WORKERS_READY
    products = [
        stack.start_products({**PRODUCTS_ENV, "APP_WORKERS": "2"}),
        stack.start_products(PRODUCTS_ENV),
    ]
    orders = [
        stack.start_orders("http", products[0], APP_WORKERS="2"),
        stack.start_orders("http", products[1]),
    ]
    product_id = shop.add_product(products[0], stock=STOCK)

    # Holds nobody confirms lapse; both sweepers (three, with the two workers) race for them.
    for n in range(LAPSING_HOLDS):
        _hold(shop, products[n % 2], product_id)
    user = f"many-{uuid4().hex[:8]}"
    placed = []
    for n in range(2 * ORDERS_PER_PROCESS):
        response = shop.place(orders[n % 2], user, {product_id: 1})
        assert response.status_code == 201, response.text
        placed.append(response.json()["id"])

    def every_order_mailed() -> Counter[str] | None:
        sent = _emails(orders)
        return sent if len(sent) >= len(placed) else None

    sent = eventually(every_order_mailed, timeout=30, interval=0.5)
    expired = eventually(
        lambda: _expired(shop, products) if _expired(shop, products) >= LAPSING_HOLDS else None,
        timeout=30,
        interval=0.5,
    )
    # Give a duplicate (a second relay or sweeper acting on the same row) time to show.
    eventually(lambda: True if _expired(shop, products) == expired else None, timeout=5)
    sent = _emails(orders)

    assert len(sent) == len(placed)
    assert set(sent.values()) == {1}, sent
    assert expired == LAPSING_HOLDS
    assert shop.stock(products[1], product_id) == STOCK - len(placed)
    listing = shop.all_orders(orders[1], user)
    assert {o["id"] for o in listing} == set(placed)
    assert {o["status"] for o in listing} == {"confirmed"}
