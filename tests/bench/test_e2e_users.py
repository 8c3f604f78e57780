"""The end-to-end bench: users a 50 % canary splits, wrk rotating among them, the canary rows."""

import itertools
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from bench.e2e.analysis import ANCHOR, CANARY_ALL_LOCAL, ratios
from bench.e2e.canary import facts_from_metrics
from bench.e2e.data import bench_users
from bench.e2e.load import Cell, lua_text, wrk
from bench.e2e.paths import ROOT, shown
from orders.adapters.product_clients.metrics import SEAM
from seam import on_remote


@pytest.mark.parametrize(("count", "share"), [(8, 50), (2, 50), (4, 5), (6, 95)])
def test_exactly_half_of_the_users_are_on_http_at_the_share(count: int, share: int) -> None:
    users = bench_users(count, share)

    assert len(set(users)) == count
    assert [on_remote(user, share) for user in users] == [True, False] * (count // 2)


def test_the_users_are_the_same_every_run() -> None:
    assert bench_users() == bench_users()
    assert len(bench_users()) == 8


def test_a_canary_at_zero_sends_none_of_them_to_http() -> None:
    assert not any(on_remote(user, 0) for user in bench_users())


@pytest.mark.parametrize(("count", "share"), [(7, 50), (0, 50), (8, 0), (8, 100)])
def test_a_split_that_cannot_be_exact_is_refused(count: int, share: int) -> None:
    with pytest.raises(ValueError, match="got"):
        bench_users(count, share)


def test_the_script_holds_every_token_in_order_and_picks_one_per_request() -> None:
    text = lua_text("read-x", "quote", tokens=["tok-a", "tok-b", "tok-c"], ids=["p1"])

    assert 'local tokens = {"tok-a","tok-b","tok-c"}' in text
    assert "tokens[(counter + tid) % #tokens + 1]" in text
    # The token is chosen in request() (per request), after the counter moves.
    request = text[text.index("function request()") :]
    assert request.index("counter = counter + 1") < request.index("auth()")


def test_orders_requests_need_a_token_and_bare_ones_do_not() -> None:
    with pytest.raises(ValueError, match="token"):
        lua_text("write-x", "order", ids=["p1"])
    assert "local tokens = {}" in lua_text("ceiling", "get-path", path="/ceiling")
    with pytest.raises(ValueError, match="kind"):
        lua_text("x", "delete")


def test_a_value_that_is_no_lua_string_literal_is_refused() -> None:
    with pytest.raises(ValueError, match="Lua string literal"):
        lua_text("x", "quote", tokens=['a"b'], ids=["p1"])


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append(self.headers.get("Authorization", ""))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (just bench installs it)"
)
def test_wrk_sends_each_request_as_the_next_user(
    recorder: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = recorder
    tokens = [f"tok-{n}" for n in range(5)]
    script = tmp_path / "quote.lua"
    script.write_text(lua_text("read-x", "quote", tokens=tokens, ids=["p1", "p2", "p3"]))

    result = wrk(url, script, concurrency=1, seconds=1)

    order = [tokens.index(header.removeprefix("Bearer ")) for header in seen]
    assert result["non2xx"] == 0
    assert len(order) >= 2 * len(tokens)
    assert all(b == (a + 1) % len(tokens) for a, b in itertools.pairwise(order))


def test_the_canary_facts_read_orders_own_metrics() -> None:
    before = facts_from_metrics(generate_latest().decode())
    SEAM.routed.labels("canary", "http").inc(3)
    SEAM.routed.labels("canary", "local").inc(1)
    calls = SEAM.calls
    calls.labels("http", "bench_probe", "ok").observe(2.0)
    calls.labels("http", "bench_probe", "ok").observe(0.01)
    calls.labels("http", "bench_probe", "products_unavailable").observe(0.01)
    calls.labels("local", "bench_probe", "error").observe(3.0)

    after = facts_from_metrics(generate_latest().decode())

    assert after["routed"]["canary/http"] - before["routed"].get("canary/http", 0) == 3
    assert after["routed"]["canary/local"] - before["routed"].get("canary/local", 0) == 1
    assert after["http_calls"] - before["http_calls"] == 3
    assert after["http_calls_failed"] - before["http_calls_failed"] == 1
    assert after["http_calls_over_1.0s"] - before["http_calls_over_1.0s"] == 1
    assert after["fallback_trips"] == before["fallback_trips"]


def _cell(scenario: str, target: str, rps: float) -> Cell:
    return Cell(scenario, target, 32, 8.0, int(8 * rps), 0, rps, 10.0, 20.0, 25.0, 30.0, 2.0)


def test_a_run_of_some_apps_judges_only_the_rows_it_measured() -> None:
    cells = [
        _cell(ANCHOR, "sa-read", 400),
        _cell("read", "local", 300),
        _cell("read", CANARY_ALL_LOCAL, 270),
    ]

    checks = {check["check"]: check for check in ratios(cells, [32])}

    assert checks["quote local / anchor SQLAlchemy read"]["value"] == 0.75
    assert checks["quote local / anchor SQLAlchemy read"]["met"] is False
    assert checks["quote canary 0 % / quote local"]["value"] == 0.9
    assert not any("shadow" in name or "http" in name for name in checks)


def test_a_plot_outside_the_repository_is_named_as_given(tmp_path: Path) -> None:
    outside = tmp_path / "throughput.png"

    assert shown(outside) == str(outside)
    assert shown(ROOT / "docs" / "bench" / "throughput.png") == "docs/bench/throughput.png"
