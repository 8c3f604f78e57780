"""The admin flags API: read, change (validated, audited), history; a change applies to the next request."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import OrdersApi, make_settings, running_api
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.tables import outbox
from orders.main import create_app
from servicekit.db import create_engine

FLAGS = "/api/v1/admin/flags"


def _admin(api: OrdersApi, user: str = "root") -> dict[str, str]:
    return api.auth(user, "admin")


async def _patch(
    api: OrdersApi, changes: dict[str, Any], reason: str | None = "test", **headers: str
) -> Any:
    body: dict[str, Any] = {"changes": changes}
    if reason is not None:
        body["reason"] = reason
    return await api.http.patch(FLAGS, json=body, headers={**_admin(api), **headers})


async def test_get_shows_effective_defaults_overrides_and_choosable_modes(api: OrdersApi) -> None:
    response = await api.http.get(FLAGS, headers=_admin(api))

    assert response.status_code == 200
    body = response.json()
    assert body["effective"] == body["defaults"]
    assert body["defaults"]["products_client"] == api.settings.products_client.value
    assert body["overrides"] == {}
    assert body["ignored"] == {}
    assert body["choosable_products_clients"] == [api.settings.products_client.value]


async def test_patch_applies_and_records_actor_reason_and_request_id(api: OrdersApi) -> None:
    response = await _patch(
        api,
        {"max_items_per_order": 3, "confirmation_email": False},
        "mail provider outage",
        **{"X-Request-ID": "change-42"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["effective"]["max_items_per_order"], body["effective"]["confirmation_email"]) == (
        3,
        False,
    )
    assert body["defaults"]["max_items_per_order"] == 50
    override = body["overrides"]["max_items_per_order"]
    assert (override["value"], override["updated_by"], override["reason"]) == (
        3,
        "root",
        "mail provider outage",
    )
    history = await api.http.get(f"{FLAGS}/history", headers=_admin(api))
    assert history.status_code == 200
    page = history.json()
    assert (page["total"], page["page"], page["page_size"]) == (2, 1, 20)
    assert {
        (c["name"], c["old_value"], c["new_value"], c["actor"], c["reason"], c["request_id"])
        for c in page["items"]
    } == {
        ("max_items_per_order", None, 3, "root", "mail provider outage", "change-42"),
        ("confirmation_email", None, False, "root", "mail provider outage", "change-42"),
    }


async def test_null_resets_to_the_default(api: OrdersApi) -> None:
    await _patch(api, {"max_items_per_order": 3})

    response = await _patch(api, {"max_items_per_order": None}, "back to normal")

    assert response.json()["effective"]["max_items_per_order"] == 50
    assert response.json()["overrides"] == {}
    newest = (await api.http.get(f"{FLAGS}/history?page_size=1", headers=_admin(api))).json()
    assert (newest["total"], len(newest["items"])) == (2, 1)
    assert (newest["items"][0]["old_value"], newest["items"][0]["new_value"]) == (3, None)


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"enable_new_checkout": True}, "enable_new_checkout"),
        ({"max_items_per_order": 0}, "max_items_per_order"),
        ({"canary_share": "half"}, "canary_share"),
        ({"products_client": "carrier-pigeon"}, "products_client"),
        # No coercion: each value must have its flag's JSON type.
        ({"canary_share": True}, "canary_share"),
        ({"canary_share": "5"}, "canary_share"),
        ({"canary_share": 5.5}, "canary_share"),
        ({"max_items_per_order": True}, "max_items_per_order"),
        ({"confirmation_email": 0}, "confirmation_email"),
        ({"confirmation_email": "off"}, "confirmation_email"),
        ({"shadow_sample_rate": True}, "shadow_sample_rate"),
    ],
)
async def test_unknown_flag_or_bad_value_is_invalid_flag(
    api: OrdersApi, changes: dict[str, Any], flag: str
) -> None:
    response = await _patch(api, changes)

    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["flag"]) == ("invalid_flag", flag)
    assert problem["invalid_params"][0]["name"] == f"changes.{flag}"
    assert response.headers["content-type"] == "application/problem+json"
    history = (await api.http.get(f"{FLAGS}/history", headers=_admin(api))).json()
    assert history["total"] == 0


async def test_an_integer_is_a_valid_sample_rate(api: OrdersApi) -> None:
    response = await _patch(api, {"shadow_sample_rate": 0})

    assert response.status_code == 200, response.text
    assert response.json()["effective"]["shadow_sample_rate"] == 0.0
    assert response.json()["overrides"]["shadow_sample_rate"]["value"] == 0.0


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 501])
async def test_a_reason_is_required_and_bounded(api: OrdersApi, reason: str | None) -> None:
    response = await _patch(api, {"canary_share": 5}, reason)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "reason" in response.json()["detail"]


async def test_empty_changes_are_refused(api: OrdersApi) -> None:
    response = await _patch(api, {})

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_a_products_client_this_deployment_did_not_build_is_409(api: OrdersApi) -> None:
    assert api.settings.products_client.value == "local"

    response = await _patch(api, {"products_client": "canary", "canary_share": 5})

    assert response.status_code == 409
    problem = response.json()
    assert (problem["code"], problem["flag"], problem["choosable"]) == (
        "products_client_unavailable",
        "products_client",
        ["local"],
    )
    current = (await api.http.get(FLAGS, headers=_admin(api))).json()
    assert current["overrides"] == {}


async def test_canary_can_be_chosen_when_both_clients_are_built(
    orders_db_url: str, products: FakeProductClient
) -> None:
    settings = make_settings(orders_db_url, products_client="shadow")
    async with running_api(
        settings, product_client=products, notifications=RecordingNotifier()
    ) as api:
        response = await _patch(api, {"products_client": "canary", "canary_share": 5})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choosable_products_clients"] == ["canary", "http", "local", "shadow"]
    assert (body["effective"]["products_client"], body["effective"]["canary_share"]) == (
        "canary",
        5,
    )


@pytest.mark.parametrize(
    ("method", "path"), [("GET", FLAGS), ("PATCH", FLAGS), ("GET", f"{FLAGS}/history")]
)
async def test_only_admins(api: OrdersApi, method: str, path: str) -> None:
    body = {"changes": {"canary_share": 1}, "reason": "r"} if method == "PATCH" else None

    anonymous = await api.http.request(method, path, json=body)
    user = await api.http.request(method, path, json=body, headers=api.auth("alice"))

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert (user.status_code, user.json()["code"]) == (403, "forbidden")


async def test_history_pages_are_bounded(api: OrdersApi) -> None:
    response = await api.http.get(f"{FLAGS}/history?page_size=101", headers=_admin(api))

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_a_lowered_item_limit_applies_to_the_next_order(
    api: OrdersApi, products: FakeProductClient
) -> None:
    lines = [(products.add().id, 1) for _ in range(3)]
    assert (await api.place("alice", lines[:2])).status_code == 201

    await _patch(api, {"max_items_per_order": 2}, "limit during incident")

    refused = await api.place("alice", lines)
    allowed = await api.place("alice", lines[:2])
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert allowed.status_code == 201


async def test_confirmation_email_off_sends_nothing_for_the_next_order(
    orders_db_url: str, products: FakeProductClient
) -> None:
    notifier = RecordingNotifier()
    settings = make_settings(
        orders_db_url, run_outbox_relay=True, outbox_poll_interval_seconds=0.02
    )
    mug = products.add()
    engine = create_engine(orders_db_url)
    try:
        async with running_api(settings, product_client=products, notifications=notifier) as api:
            first = (await api.place("alice", [(mug.id, 1)])).json()["id"]
            await _eventually(lambda: _outbox_drained(engine))

            await _patch(api, {"confirmation_email": False}, "provider outage")
            second = (await api.place("bob", [(mug.id, 1)])).json()["id"]
            await _eventually(lambda: _outbox_drained(engine))

            await _patch(api, {"confirmation_email": None}, "provider back")
            third = (await api.place("carol", [(mug.id, 1)])).json()["id"]
            await _eventually(lambda: _outbox_drained(engine))
    finally:
        await engine.dispose()

    sent_for = [subject for _, subject, _ in notifier.emails]
    assert [first in s for s in sent_for] == [True, False]
    assert [third in s for s in sent_for] == [False, True]
    assert not any(second in s for s in sent_for)


async def _outbox_drained(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        pending = await connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        )
    return pending == 0


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_every_admin_flags_route_is_documented() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    paths = app.openapi()["paths"]

    operations = {
        (method, path): op
        for path, item in paths.items()
        if path.startswith(FLAGS)
        for method, op in item.items()
    }

    assert sorted(operations) == [
        ("get", FLAGS),
        ("get", f"{FLAGS}/history"),
        ("patch", FLAGS),
    ]
    for key, op in operations.items():
        assert op.get("description"), key
        assert {"401", "403"} <= set(op["responses"]), key
    assert {"400", "409", "422"} <= set(operations[("patch", FLAGS)]["responses"])


@pytest.mark.parametrize("subject", ["canary-fallback", "Canary-Fallback"])
async def test_the_fallbacks_name_is_reserved(api: OrdersApi, subject: str) -> None:
    body = {"changes": {"canary_share": 0}, "reason": "pretend to be the fallback"}

    response = await api.http.patch(FLAGS, json=body, headers=_admin(api, subject))

    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["actor"]) == ("reserved_actor", subject)
    assert "reserved for the canary fallback" in problem["detail"]
    history = await api.http.get(f"{FLAGS}/history", headers=_admin(api))
    assert history.json()["total"] == 0
