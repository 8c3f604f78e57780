"""Inputs the schemathesis run (tests/contract/test_fuzz_orders.py) found answering 500."""

from fakes import FakeProductClient
from harness import OrdersApi


async def test_lines_of_one_product_summing_past_the_line_limit_are_422(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add()

    placed = await api.place("alice", [(mug.id, 8911), (mug.id, 5284)])
    quoted = await api.http.post(
        "/api/v1/orders/quote",
        json={"items": [{"product_id": str(mug.id), "quantity": 6000}] * 2},
        headers=api.auth("alice"),
    )

    assert (placed.status_code, placed.json()["code"]) == (422, "validation_error")
    assert (quoted.status_code, quoted.json()["code"]) == (422, "validation_error")


async def test_a_page_number_past_the_database_range_is_422(api: OrdersApi) -> None:
    response = await api.http.get(
        "/api/v1/orders", params={"page": 10**24}, headers=api.auth("alice")
    )

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_a_summary_date_must_be_written_as_a_date(api: OrdersApi) -> None:
    response = await api.http.get(
        "/api/v1/orders/summary", params={"start_date": "0"}, headers=api.auth("alice")
    )

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
