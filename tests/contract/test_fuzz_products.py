"""Fuzz the products API in-process: no 5xx, and every response is what the schema documents."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.python import asgi
from starlette.types import ASGIApp

from products.config import Settings
from products.facade import upgrade_products_database
from products.main import create_app
from scripts.export_openapi import committed_path
from servicekit.auth import mint_user_token
from servicekit.settings import Environment
from shop_contracts import paths
from tests.contract.databases import Snapshot, migrated_database
from tests.contract.fuzzing import (
    CART_RULE_CHECKS,
    FUZZ_SETTINGS,
    STATEFUL_SETTINGS,
    FreshKeys,
    LateApp,
    SeedIds,
    credentials,
    repeats_a_product,
    seeded_body_ids,
    seeded_path_parameters,
    stateful_machine,
    unique_body_key,
    with_links,
)

API = paths.API_PREFIX


@dataclass(frozen=True)
class Seeded:
    """The app under test, its credentials, what the seed created, and the rows just after."""

    app: ASGIApp
    admin: dict[str, str]
    service: dict[str, str]
    product_ids: list[str]
    reservation_ids: list[str]
    snapshot: Snapshot


def _seed(
    app: ASGIApp, admin: dict[str, str], service: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Three products; a reservation of each, then one kept held, one confirmed, one released."""
    product_ids: list[str] = []
    reservation_ids: list[str] = []
    with asgi.get_client(cast(Any, app)) as client:  # starlette's ASGIApp, typed looser
        for n in range(3):
            created = client.post(
                API + paths.PRODUCTS,
                json={"sku": f"FUZZ-{n}", "name": f"Fuzz {n}", "price": "9.99", "stock": 1_000_000},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            product_ids.append(created.json()["id"])
        for n, then in enumerate(("hold", "confirm", "release")):
            held = client.post(
                API + paths.RESERVATIONS,
                json={
                    "reservation_key": f"fuzz-seed-{n}",
                    "lines": [{"product_id": product_ids[n], "quantity": 1}],
                },
                headers=service,
            )
            assert held.status_code == 201, held.text
            reservation_id = held.json()["id"]
            reservation_ids.append(reservation_id)
            if then != "hold":
                path = paths.RESERVATION_CONFIRM if then == "confirm" else paths.RESERVATION_RELEASE
                done = client.post(
                    API + path.format(reservation_id=reservation_id), headers=service
                )
                assert done.status_code == 200, done.text
    return product_ids, reservation_ids


@pytest.fixture(scope="module")
def products_seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A seeded products app on its own migrated database."""
    scratch = tmp_path_factory.mktemp("fuzz-products")
    with migrated_database("fuzz_products", upgrade_products_database, scratch) as url:
        # The seeded hold must outlive the run, or an answer about it changes midway.
        settings = Settings(
            environment=Environment.TESTING,
            database_url=url,
            sweep_interval_seconds=3600,
            reservation_ttl_seconds=86_400,
        )
        admin = {"Authorization": f"Bearer {mint_user_token(settings, 'fuzz-admin', ['admin'])}"}
        service = {"Authorization": f"Bearer {settings.service_token.get_secret_value()}"}
        APP.target = create_app(settings)
        try:
            product_ids, reservation_ids = _seed(APP, admin, service)
            SEEDS.by_name.update(product_id=product_ids, reservation_id=reservation_ids)
            with Snapshot.of(url) as snapshot:
                yield Seeded(APP, admin, service, product_ids, reservation_ids, snapshot)
        finally:
            asgi.shutdown_lifespans()


SEEDS = SeedIds()
APP = LateApp()

# The committed document, which test_openapi.py keeps equal to what the app serves:
# loading it needs no database at collection time.
schema = schemathesis.openapi.from_dict(json.loads(committed_path("products").read_text()))
schema.app = APP  # every request, the checks' own probes included, stays in-process
schema.hook(seeded_path_parameters(SEEDS, ["product_id", "reservation_id"]))
schema.hook(seeded_body_ids(SEEDS, "product_id", frozenset({"product_id"}), frozenset({"ids"})))
schema.hook(unique_body_key("reservation_key"))

# Stateful: a held reservation's id feeds reading, confirming and releasing it, and
# its key releasing it by key; a created product's id feeds reading, changing and
# stocking it. Ids the seed made still fill in about half of the other cases.
_RESERVATION_ID = {"reservation_id": "$response.body#/id"}
_PRODUCT_ID = {"product_id": "$response.body#/id"}
_linked = with_links(
    json.loads(committed_path("products").read_text()),
    API + paths.RESERVATIONS,
    "post",
    "201",
    {
        **{
            name: {"operationId": name, "parameters": _RESERVATION_ID}
            for name in ("get_reservation", "confirm", "release")
        },
        "release_by_key": {
            "operationId": "release_by_key",
            "requestBody": {"reservation_key": "$response.body#/key"},
        },
    },
)
_linked = with_links(
    _linked,
    API + paths.PRODUCTS,
    "post",
    "201",
    {
        name: {"operationId": name, "parameters": _PRODUCT_ID}
        for name in ("get_product", "update_product", "check_stock", "adjust_stock")
    },
)
# A scenario may repeat a step (hypothesis copies steps within a scenario), and a
# repeated bulk import meets its own SKUs (409), which ``FreshKeys`` cannot make
# fresh inside the list: the import is fuzzed above, one call per case, so the
# stateful copy leaves it out.
del _linked["paths"][API + paths.PRODUCTS_BULK]
stateful_schema = schemathesis.openapi.from_dict(_linked)
stateful_schema.app = APP
stateful_schema.hook(seeded_path_parameters(SEEDS, ["product_id", "reservation_id"]))
stateful_schema.hook(
    seeded_body_ids(SEEDS, "product_id", frozenset({"product_id"}), frozenset({"ids"}))
)


def _caller(case: Case[Any], seeded: Seeded) -> dict[str, str] | None:
    """The service token for reservations and releases by key, the admin's for the rest."""
    internal = case.path.startswith(API + "/reservation")  # reservations and reservation-releases
    return credentials(case, seeded.service if internal else seeded.admin)


def _excluded(case: Case[Any]) -> list[Any]:
    # A hold's lines are priced by the catalogue the fuzzer also writes: one currency
    # and the order-total limit are rules of those prices, which no schema can state
    # (ADR 0020), so a valid body may be refused 422 mixed_currencies or
    # order_total_too_large.
    reserves = case.method.upper() == "POST" and case.path == API + paths.RESERVATIONS
    return CART_RULE_CHECKS if reserves or repeats_a_product(case, "lines") else []


@schema.parametrize()
@FUZZ_SETTINGS
def test_products_api_answers_as_documented(case: Case[Any], products_seeded: Seeded) -> None:
    case.call_and_validate(headers=_caller(case, products_seeded), excluded_checks=_excluded(case))


def test_products_api_answers_as_documented_across_linked_calls(products_seeded: Seeded) -> None:
    machine = stateful_machine(
        stateful_schema,
        lambda case: _caller(case, products_seeded),
        _excluded,
        products_seeded.snapshot.restore,
        FreshKeys({"reservation_key": 200, "sku": 64}),
    )
    machine.run(settings=STATEFUL_SETTINGS)
