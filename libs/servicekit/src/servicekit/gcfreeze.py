"""Objects built at start-up are moved out of the garbage collector's reach (ADR 0022)."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from servicekit.lifespan import while_serving


def freeze_after_startup(app: FastAPI) -> None:
    """Wrap ``app``'s lifespan: once started, ``gc.freeze()`` what start-up built.

    A full collection walks every tracked object; an app holds ~160,000 of them
    after start-up (routes, models, SQLAlchemy, pydantic), and walking them took
    40-80 ms, a pause every request in flight waited out (the p99 of ``just bench``).
    Frozen objects are never collected, so only what requests create is walked.
    """
    while_serving(app, _frozen)


@asynccontextmanager
async def _frozen() -> AsyncIterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
