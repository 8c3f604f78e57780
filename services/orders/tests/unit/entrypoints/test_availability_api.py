"""GET /availability/{product_id}: can the shopper buy this many, before checkout."""

from uuid import uuid4

from fakes import FakeProductClient
from harness import OrdersApi


async def test_says_whether_the_quantity_can_be_bought_without_revealing_the_stock(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=3, price="4.50", name="Mug")
    url = f"/api/v1/availability/{mug.id}"

    enough = await api.http.get(url, params={"quantity": 3}, headers=api.auth("alice"))
    too_many = await api.http.get(url, params={"quantity": 4}, headers=api.auth("alice"))
    default = await api.http.get(url, headers=api.auth("alice"))

    assert enough.status_code == 200
    assert enough.json() == {
        "product_id": str(mug.id),
        "product_name": "Mug",
        "unit_price": "4.50",
        "currency": "EUR",
        "quantity": 3,
        "available": True,
    }
    assert (too_many.json()["quantity"], too_many.json()["available"]) == (4, False)
    assert (default.json()["quantity"], default.json()["available"]) == (1, True)
    assert products.stock[mug.id] == 3  # nothing was held


async def test_unknown_product_is_404_product_not_found(api: OrdersApi) -> None:
    missing = uuid4()

    response = await api.http.get(f"/api/v1/availability/{missing}", headers=api.auth("alice"))

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert response.json()["product_ids"] == [str(missing)]


async def test_products_down_is_503_with_retry_after(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add()
    products.down = True

    response = await api.http.get(f"/api/v1/availability/{mug.id}", headers=api.auth("alice"))

    assert response.status_code == 503
    assert response.json()["code"] == "products_unavailable"
    assert "retry-after" in response.headers


async def test_needs_a_user_and_a_quantity_of_at_least_one(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add()
    url = f"/api/v1/availability/{mug.id}"

    anonymous = await api.http.get(url)
    zero = await api.http.get(url, params={"quantity": 0}, headers=api.auth("alice"))

    assert anonymous.status_code == 401
    assert (zero.status_code, zero.json()["code"]) == (422, "validation_error")
