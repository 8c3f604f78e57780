"""A customer's whole journey over real HTTP: orders (http mode) in front of products."""

import json
from decimal import Decimal
from functools import partial
from uuid import uuid4

import pytest

from tests.integration.stack import API, Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _logged_with(process: ServiceProcess, request_id: str) -> list[str]:
    """Messages of the process's JSON log lines that carry ``request_id``."""
    messages = []
    for line in process.read_log().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("request_id") == request_id:
            messages.append(str(record.get("message", "")))
    return messages


def _reservation_call_logged(process: ServiceProcess, request_id: str) -> bool | None:
    return any("/reservations" in m for m in _logged_with(process, request_id)) or None


def test_order_lifecycle_over_http_restores_stock_and_propagates_request_id(
    stack: Stack, shop: Shop
) -> None:
    products = stack.start_products()
    orders = stack.start_orders("http", products)
    user = f"journey-{uuid4().hex[:8]}"

    catalogue = shop.http.get(f"{products.url}{API}/products", params={"page_size": 100})
    assert catalogue.status_code == 200, catalogue.text
    assert catalogue.json()["total"] >= 60  # the seeded demo catalogue
    assert any(item["sku"] == "DEMO-001" for item in catalogue.json()["items"])
    product_id = shop.add_product(products, stock=10, price="12.50")

    quote = shop.post(
        orders, user, "/quote", {"items": [{"product_id": str(product_id), "quantity": 3}]}
    )
    assert quote.status_code == 200, quote.text
    assert Decimal(quote.json()["subtotal"]) == Decimal("37.50")
    assert shop.stock(products, product_id) == 10  # a quote reserves nothing

    request_id = f"it-journey-{uuid4().hex}"
    key = uuid4().hex
    placed = shop.place(
        orders, user, {product_id: 3}, key=key, headers={"X-Request-ID": request_id}
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Request-ID"] == request_id
    order = placed.json()
    assert placed.headers["Location"] == f"{API}/orders/{order['id']}"
    assert order["status"] == "confirmed"
    assert Decimal(order["total"]) == Decimal("37.50")
    assert shop.stock(products, product_id) == 7

    replay = shop.place(orders, user, {product_id: 3}, key=key)
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == order["id"]
    assert shop.stock(products, product_id) == 7  # no second reservation

    detail = shop.get(orders, user, f"/{order['id']}")
    assert detail.status_code == 200, detail.text
    assert [(i["product_id"], i["quantity"]) for i in detail.json()["items"]] == [
        (str(product_id), 3)
    ]
    assert shop.get(orders, "someone-else", f"/{order['id']}").status_code == 404

    listing = shop.get(orders, user)
    assert listing.status_code == 200, listing.text
    assert listing.json()["total"] == 1
    assert [item["id"] for item in listing.json()["items"]] == [order["id"]]

    summary = shop.get(orders, user, "/summary")
    assert summary.status_code == 200, summary.text
    assert summary.json()["total_orders"] == 1
    assert Decimal(summary.json()["total_spent"]) == Decimal("37.50")

    paid = shop.post(orders, user, f"/{order['id']}/pay")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment_id"]

    cancelled = shop.post(orders, user, f"/{order['id']}/cancel", {"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert shop.stock(products, product_id) == 10

    # The id the caller sent is in both services' logs: orders handled the
    # request and passed the id on to products with the reservation call.
    eventually(partial(_reservation_call_logged, orders, request_id), timeout=5)
    eventually(partial(_reservation_call_logged, products, request_id), timeout=5)
