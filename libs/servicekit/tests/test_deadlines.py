"""Budgets that travel: nested budgets only shorten, and a spent budget is refused."""

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servicekit.deadlines import BUDGET_HEADER, BudgetMiddleware, budget, detached, remaining


def test_a_nested_budget_never_outlives_the_outer_one() -> None:
    assert remaining() is None
    with budget(1.0):
        with budget(5.0):
            left = remaining()
            assert left is not None
            assert left <= 1.0
        with detached():
            assert remaining() is None
    assert remaining() is None


async def _slow(request: Request) -> JSONResponse:
    await asyncio.sleep(float(request.query_params.get("sleep", "0")))
    return JSONResponse({"left": remaining()})


def _client() -> httpx.AsyncClient:
    app = BudgetMiddleware(Starlette(routes=[Route("/work", _slow)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_a_spent_budget_is_refused_and_an_overrun_is_cut() -> None:
    async with _client() as http:
        plain = await http.get("/work")
        spent = await http.get("/work", headers={BUDGET_HEADER: "0"})
        fits = await http.get("/work", headers={BUDGET_HEADER: "2000"})
        overrun = await http.get("/work?sleep=5", headers={BUDGET_HEADER: "50"})
    assert plain.json() == {"left": None}
    assert spent.status_code == 503
    assert spent.json()["code"] == "service_unavailable"
    assert spent.headers["Retry-After"] == "1"
    assert 0 < fits.json()["left"] <= 2.0
    assert overrun.status_code == 503
    assert "budget" in overrun.json()["detail"]
