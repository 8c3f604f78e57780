"""FEATURE_CONFIRMATION_EMAIL: OrderPlaced → e-mail through the outbox relay, or nothing."""

import asyncio

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import make_settings, running_api
from sqlalchemy import func, select

from orders.adapters.db.tables import outbox
from orders.config import FeatureFlags
from servicekit.db import create_engine


@pytest.mark.parametrize("enabled", [True, False])
async def test_confirmation_email_follows_the_feature_flag(
    orders_db_url: str, products: FakeProductClient, enabled: bool
) -> None:
    notifier = RecordingNotifier()
    settings = make_settings(
        orders_db_url, run_outbox_relay=True, outbox_poll_interval_seconds=0.02
    )
    mug = products.add()

    async with running_api(
        settings,
        flags=FeatureFlags(confirmation_email=enabled),
        product_client=products,
        notifications=notifier,
    ) as api:
        order_id = (await api.place("alice", [(mug.id, 1)])).json()["id"]
        relay_done = await _outbox_drained(api.settings.database_url.get_secret_value())
        assert relay_done

    if enabled:
        [(to, subject, dedupe_key)] = notifier.emails
        assert to == "alice@example.com"
        assert order_id in subject
        assert dedupe_key.startswith("order-placed:")
    else:
        assert notifier.emails == []


async def _outbox_drained(url: str) -> bool:
    engine = create_engine(url)
    try:

        async def pending() -> int:
            async with engine.connect() as conn:
                stmt = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
                return int((await conn.execute(stmt)).scalar_one())

        for _ in range(250):
            if not await pending():
                return True
            await asyncio.sleep(0.02)
    finally:
        await engine.dispose()
    return False
