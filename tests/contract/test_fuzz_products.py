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
from products.facade import upgrade_database
from products.main import create_app
from scripts.export_openapi import committed_path
from servicekit.auth import mint_user_token
from servicekit.settings import Environment
from shop_contracts import paths
from tests.contract.databases import migrated_database
from tests.contract.fuzzing import (
    CART_RULE_CHECKS,
    FUZZ_SETTINGS,
    LateApp,
    SeedIds,
    credentials,
    repeats_a_product,
    seeded_body_ids,
    seeded_path_parameters,
    unique_body_key,
)

API = paths.API_PREFIX


@dataclass(frozen=True)
class Seeded:
    """The app under test, its credentials, and what the seed created."""

    app: ASGIApp
    admin: dict[str, str]
    service: dict[str, str]
    product_ids: list[str]
    reservation_ids: list[str]


def _seed(app: ASGIApp, admin: dict[str, str], service: dict[str, str]) -> Seeded:
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
    return Seeded(app, admin, service, product_ids, reservation_ids)


@pytest.fixture(scope="module")
def products_seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A seeded products app on its own migrated database."""
    scratch = tmp_path_factory.mktemp("fuzz-products")
    with migrated_database("fuzz_products", upgrade_database, scratch) as url:
        settings = Settings(
            environment=Environment.TESTING, database_url=url, sweep_interval_seconds=3600
        )
        admin = {"Authorization": f"Bearer {mint_user_token(settings, 'fuzz-admin', ['admin'])}"}
        service = {"Authorization": f"Bearer {settings.service_token.get_secret_value()}"}
        APP.target = create_app(settings)
        try:
            seeded = _seed(APP, admin, service)
            SEEDS.by_name.update(
                product_id=seeded.product_ids, reservation_id=seeded.reservation_ids
            )
            yield seeded
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


@schema.parametrize()
@FUZZ_SETTINGS
def test_products_api_answers_as_documented(case: Case[Any], products_seeded: Seeded) -> None:
    internal = case.path.startswith(API + "/reservation")  # reservations and reservation-releases
    caller = products_seeded.service if internal else products_seeded.admin
    excluded = CART_RULE_CHECKS if repeats_a_product(case, "lines") else []
    case.call_and_validate(headers=credentials(case, caller), excluded_checks=excluded)
