"""The example boundary served over HTTP: a remote adapter against an ASGI app (docs/seam.md)."""

from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from libs.seam.tests.inventory import (
    Inventory,
    InventoryDown,
    InventoryError,
    Lookup,
    MemoryInventory,
    NotStocked,
    Stock,
)


def inventory_app(inventory: MemoryInventory) -> FastAPI:
    """The remote side: the in-process implementation behind three routes."""
    app = FastAPI()

    @app.exception_handler(InventoryError)
    async def problem(_: Request, exc: InventoryError) -> JSONResponse:
        body: dict[str, Any] = {"code": exc.code, "detail": str(exc)}
        if isinstance(exc, NotStocked):
            body["item"] = exc.item
        return JSONResponse(body, status_code=404 if isinstance(exc, NotStocked) else 503)

    @app.get("/stock/{item}")
    async def stock(item: str) -> Stock:
        return await inventory.stock(item)

    @app.post("/lookup")
    async def lookup(items: list[str]) -> Lookup:
        return await inventory.lookup(items)

    @app.post("/take/{item}")
    async def take(item: str, quantity: int) -> Stock:
        return await inventory.take(item, quantity)

    return app


class HttpInventory:
    """The remote adapter: paths, DTOs and the mapping of answers to the contract's errors."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def stock(self, item: str) -> Stock:
        """One item's level."""
        return Stock.model_validate(_answer(await self._http.get(f"/stock/{item}")))

    async def lookup(self, items: Sequence[str]) -> Lookup:
        """Several items."""
        return Lookup.model_validate(_answer(await self._http.post("/lookup", json=list(items))))

    async def take(self, item: str, quantity: int) -> Stock:
        """Take ``quantity`` off the shelf."""
        answer = await self._http.post(f"/take/{item}", params={"quantity": quantity})
        return Stock.model_validate(_answer(answer))


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    body = response.json()
    if body.get("code") == NotStocked.code:
        raise NotStocked(body["item"])
    raise InventoryDown(body.get("detail", f"status {response.status_code}"))


def _both_are_inventories(local: MemoryInventory, remote: HttpInventory) -> list[Inventory]:
    """Never called: mypy checks that both sides satisfy the Protocol."""
    return [local, remote]
