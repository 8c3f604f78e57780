"""``/admin/flags`` over any service's flags: its names in answers and document, its refusal code."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import AdminFlagStore, SqlFlagStore
from cutover.flags.api import flags_router
from libs.cutover.tests.flags.example import DEFAULTS, SHOP_FLAGS, T0, TABLES, ShopFlags
from seam import FallbackState
from servicekit.auth import Principal
from servicekit.deps import admin_principal
from servicekit.problems import install_problem_handlers

FLAGS = "/admin/flags"


def _app(store: SqlFlagStore[ShopFlags], fallback: FallbackState | None = None) -> FastAPI:
    async def the_store(_: Request) -> AdminFlagStore[ShopFlags]:
        return store

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(flags_router(SHOP_FLAGS, store=the_store, fallback=lambda _: fallback))
    app.dependency_overrides[admin_principal] = lambda: Principal("root", None, frozenset())
    return app


@pytest.fixture
async def sql_store(engine: AsyncEngine) -> SqlFlagStore[ShopFlags]:
    store = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, choosable={"local", "http"})
    await store.refresh()
    return store


@pytest.fixture
async def http(sql_store: SqlFlagStore[ShopFlags]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(sql_store, FallbackState(T0, "p95 2 s", True)))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        yield client


async def _patch(http: httpx.AsyncClient, changes: dict[str, Any]) -> httpx.Response:
    return await http.patch(FLAGS, json={"changes": changes, "reason": "test"})


async def test_a_change_answers_the_flags_in_force_under_the_services_names(
    http: httpx.AsyncClient,
) -> None:
    response = await _patch(http, {"inventory_share": 5, "batch_size": 20})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["effective"]["inventory_share"], body["defaults"]["inventory_share"]) == (5, 0)
    assert body["overrides"]["batch_size"]["updated_by"] == "root"
    assert body["choosable_inventory_clients"] == ["http", "local"]
    assert body["fallback"] == {"at": "2026-12-02T09:00:00Z", "reason": "p95 2 s", "pending": True}
    history = (await http.get(f"{FLAGS}/history", params={"page_size": 1})).json()
    assert (history["total"], len(history["items"])) == (2, 1)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"batch_size": "5"}, 422, "invalid_flag"),
        ({"inventory_client": "canary"}, 409, "service_unavailable"),
    ],
)
async def test_a_refused_change_is_a_problem_and_writes_nothing(
    http: httpx.AsyncClient, changes: dict[str, Any], status: int, code: str
) -> None:
    response = await _patch(http, changes)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"
    assert (await http.get(f"{FLAGS}/history")).json()["total"] == 0


def test_the_document_names_the_services_flags_settings_and_refusal(
    sql_store: SqlFlagStore[ShopFlags],
) -> None:
    document = _app(sql_store).openapi()
    schemas = document["components"]["schemas"]
    flags = schemas["FlagsView"]["properties"]

    assert schemas["FlagsView"]["required"] == [
        "effective",
        "defaults",
        "overrides",
        "ignored",
        "choosable_inventory_clients",
    ]
    assert flags["choosable_inventory_clients"]["items"] == {
        "$ref": "#/components/schemas/InventoryMode"
    }
    assert (
        "(SHOP_FEATURE_*, SHOP_INVENTORY, SHOP_SHARE, SHOP_RATE)"
        in (flags["defaults"]["description"])
    )
    assert (
        "(SHOP_INVENTORY: local or http allow only themselves, shadow or canary all)"
        in (flags["choosable_inventory_clients"]["description"])
    )
    assert (
        "write of inventory_share 0"
        in (schemas["FallbackView"]["properties"]["pending"]["description"])
    )
    changes = schemas["FlagChangesIn"]["properties"]["changes"]
    assert sorted(changes["properties"]) == sorted(ShopFlags.model_fields)
    assert changes["examples"] == [{"inventory_client": "canary", "inventory_share": 5}]
    operations = document["paths"][FLAGS]
    assert "within\n`SHOP_FLAGS_REFRESH`." in operations["get"]["description"]
    assert "409 `service_unavailable`" in operations["patch"]["description"]
