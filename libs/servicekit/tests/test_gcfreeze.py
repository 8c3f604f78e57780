"""Start-up objects are frozen while the app runs, and thawed when it stops."""

import gc

from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from servicekit.gcfreeze import freeze_after_startup


async def test_objects_built_at_startup_are_frozen_until_shutdown() -> None:
    app = FastAPI()
    freeze_after_startup(app)
    before = gc.get_freeze_count()

    async with LifespanManager(app):
        running = gc.get_freeze_count()

    assert running > before
    assert gc.get_freeze_count() == 0
