"""Work that runs while an app serves: entered after its start-up, left before its shutdown."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI


def while_serving(app: FastAPI, phase: Callable[[], AbstractAsyncContextManager[object]]) -> None:
    """Wrap ``app``'s lifespan: ``phase()`` is entered once start-up has run, left before shutdown."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state, phase():
            yield state

    app.router.lifespan_context = lifespan
