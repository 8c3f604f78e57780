"""Fuzz the orders API in-process: no 5xx, and every response is what the schema documents.

Orders runs in local mode over a seeded products database, so placing,
quoting, cancelling and paying reach the real products logic.
"""

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.python import asgi
from starlette.types import ASGIApp

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.payments.fake import FakePayments
from orders.bootstrap import Overrides
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import ProductsClientMode, Settings
from orders.main import create_app
from products.facade import ProductsFacade, upgrade_products_database
from scripts.export_openapi import committed_path
from servicekit.auth import mint_user_token
from servicekit.settings import Environment
from shop_contracts.products import ProductCreate
from tests.contract.databases import Snapshot, migrated_database
from tests.contract.fuzzing import (
    CART_RULE_CHECKS,
    CURSOR_RULE_CHECKS,
    FUZZ_SETTINGS,
    STATEFUL_SETTINGS,
    LateApp,
    SeedIds,
    breaks_cursor_rules,
    credentials,
    repeats_a_product,
    seeded_body_ids,
    seeded_path_parameters,
    seeded_query_parameters,
    stateful_machine,
    with_fresh_key,
    with_links,
)

ORDERS = "/api/v1/orders"
FLAGS = "/api/v1/admin/flags"
SEEDS = SeedIds()
APP = LateApp()

# The committed document, which test_openapi.py keeps equal to what the app serves.
schema = schemathesis.openapi.from_dict(json.loads(committed_path("orders").read_text()))
schema.app = APP  # every request, the checks' own probes included, stays in-process
schema.hook(seeded_path_parameters(SEEDS, ["order_id"]))
schema.hook(seeded_body_ids(SEEDS, "product_id", frozenset({"product_id"}), frozenset()))
schema.hook(seeded_query_parameters(SEEDS, ["cursor"]))

# Stateful: a placed order's id feeds reading, paying, cancelling and fulfilling it.
# schemathesis starts scenarios only at "reliable" roots when there are any, and
# counts POST /orders (its product ids come from another service) as a fallback
# root while the list is a reliable one; the list is fuzzed above, so the
# stateful copy leaves it out and every scenario starts by placing an order.
_ORDER_ID = {"order_id": "$response.body#/id"}
_linked = with_links(
    json.loads(committed_path("orders").read_text()),
    ORDERS,
    "post",
    "201",
    {
        name: {"operationId": name, "parameters": _ORDER_ID}
        for name in ("get_order", "pay_order", "cancel_order", "update_status")
    },
)
del _linked["paths"][ORDERS]["get"]
# Changing a flag changes what every later call may do (max_items_per_order=1 refuses
# most carts): the flags PATCH is fuzzed alone, below, with the flags reset after each case.
del _linked["paths"][FLAGS]["patch"]
stateful_schema = schemathesis.openapi.from_dict(_linked)
stateful_schema.app = APP
stateful_schema.hook(seeded_path_parameters(SEEDS, ["order_id"]))
stateful_schema.hook(seeded_body_ids(SEEDS, "product_id", frozenset({"product_id"}), frozenset()))


@dataclass(frozen=True)
class Seeded:
    """The app under test, the caller's credentials, what the seed created, and the rows just after."""

    app: ASGIApp
    user: dict[str, str]
    product_ids: list[str]
    order_ids: list[str]
    cursors: list[str]
    snapshots: tuple[Snapshot, ...]

    def restore(self) -> None:
        """Both databases (orders' and the catalogue) back to the rows just after the seed."""
        for snapshot in self.snapshots:
            snapshot.restore()


async def _seed_products(database_url: str) -> list[str]:
    products = ProductsFacade.from_database_url(database_url)
    try:
        created = [
            await products.create_product(
                ProductCreate(
                    sku=f"FUZZ-O-{n}", name=f"Fuzz {n}", price=Decimal("4.50"), stock=10**8
                )
            )
            for n in range(3)
        ]
    finally:
        await products.aclose()
    return [str(product.id) for product in created]


def _seed_orders(app: ASGIApp, user: dict[str, str], product_ids: list[str]) -> list[str]:
    order_ids: list[str] = []
    with asgi.get_client(cast(Any, app)) as client:  # starlette's ASGIApp, typed looser
        for n, then in enumerate(("keep", "cancel", "pay")):
            placed = client.post(
                ORDERS,
                json={"items": [{"product_id": product_ids[n], "quantity": 2}]},
                headers={**user, "Idempotency-Key": f"fuzz-seed-{n}"},
            )
            assert placed.status_code == 201, placed.text
            order_id = placed.json()["id"]
            order_ids.append(order_id)
            if then != "keep":
                body = {"reason": "seed"} if then == "cancel" else None
                done = client.post(f"{ORDERS}/{order_id}/{then}", json=body, headers=user)
                assert done.status_code == 200, done.text
    return order_ids


def _seed_cursor(app: ASGIApp, user: dict[str, str]) -> str:
    """A cursor the API issued: where the seeded orders' second page starts."""
    with asgi.get_client(cast(Any, app)) as client:
        first = client.get(ORDERS, params={"cursor": "", "page_size": "1"}, headers=user)
        assert first.status_code == 200, first.text
        cursor: str = first.json()["next_cursor"]
    return cursor


@pytest.fixture(scope="module")
def orders_seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A seeded orders app in local mode over its own products database."""
    scratch: Path = tmp_path_factory.mktemp("fuzz-orders")
    with (
        migrated_database("fuzz_catalogue", upgrade_products_database, scratch) as products_url,
        migrated_database("fuzz_orders", upgrade_orders_database, scratch) as orders_url,
    ):
        product_ids = asyncio.run(_seed_products(products_url))
        settings = Settings(
            environment=Environment.TESTING,
            database_url=orders_url,
            products_client=ProductsClientMode.LOCAL,
            products_database_url=products_url,
            run_products_sweeper=False,
            run_reconciler=False,
            run_outbox_relay=False,
        )
        # Admin too, so the fulfilment endpoint is reachable; every order is this user's.
        token = mint_user_token(settings, "fuzz-user", ["admin"])
        user = {"Authorization": f"Bearer {token}"}
        # One payments fake for every lifespan, so refunds find the seeded payment.
        APP.target = create_app(settings, Overrides(payments=FakePayments()))
        try:
            order_ids = _seed_orders(APP, user, product_ids)
            cursors = ["", _seed_cursor(APP, user)]
            SEEDS.by_name.update(product_id=product_ids, order_id=order_ids, cursor=cursors)
            with Snapshot.of(orders_url) as orders_rows, Snapshot.of(products_url) as catalogue:
                yield Seeded(APP, user, product_ids, order_ids, cursors, (orders_rows, catalogue))
        finally:
            asgi.shutdown_lifespans()


@schema.parametrize()
@FUZZ_SETTINGS
def test_orders_api_answers_as_documented(case: Case[Any], orders_seeded: Seeded) -> None:
    excluded = (
        CART_RULE_CHECKS
        if repeats_a_product(case, "items")
        else CURSOR_RULE_CHECKS
        if breaks_cursor_rules(case, orders_seeded.cursors)
        else []
    )
    headers = with_fresh_key(case, credentials(case, orders_seeded.user), "Idempotency-Key")
    try:
        case.call_and_validate(headers=headers, excluded_checks=excluded)
    finally:
        if (case.method, case.path) == ("PATCH", FLAGS):
            _reset_flags(orders_seeded)


def _reset_flags(seeded: Seeded) -> None:
    """Every flag back to its default, so one case's change never shapes the next case."""
    with asgi.get_client(cast(Any, seeded.app)) as client:
        reset = client.patch(
            FLAGS,
            json={
                "changes": dict.fromkeys(ORDERS_FLAGS.names),
                "reason": "fuzzing: back to defaults",
            },
            headers=seeded.user,
        )
        assert reset.status_code == 200, reset.text


def test_orders_api_answers_as_documented_across_linked_calls(orders_seeded: Seeded) -> None:
    machine = stateful_machine(
        stateful_schema,
        lambda case: with_fresh_key(case, credentials(case, orders_seeded.user), "Idempotency-Key"),
        lambda case: CART_RULE_CHECKS if repeats_a_product(case, "items") else [],
        orders_seeded.restore,
    )
    machine.run(settings=STATEFUL_SETTINGS)
