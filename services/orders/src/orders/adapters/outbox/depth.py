"""How many outbox rows wait to be dispatched (a gauge on /metrics)."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.db.tables import outbox
from orders.adapters.metrics import OUTBOX_DEPTH
from orders.adapters.outbox.status import OutboxStatus


async def record_outbox_depth(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Count pending rows and publish the count as ``orders_outbox_depth``."""
    async with sessions() as session:
        depth = int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.status == OutboxStatus.PENDING.value)
                )
            ).scalar_one()
        )
    OUTBOX_DEPTH.set(depth)
    return depth
