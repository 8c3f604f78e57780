"""Child server processes: readiness, early exit, deadline, orderly stop."""

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from servicekit.processes import (
    ProcessExited,
    ProcessNotReady,
    ServerProcess,
    base_url,
    free_port,
    is_ready,
    port_share,
)

pytestmark = pytest.mark.slow

# A server answering 200 on /health/ready and 503 elsewhere, so the path matters.
_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health/ready" else 503)
        self.end_headers()
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _server(
    tmp_path: Path, code: str, *args: str, ready_path: str = "/health/ready"
) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        "fake",
        [sys.executable, "-c", code, str(port), *args],
        base_url("127.0.0.1", port),
        log_path=tmp_path / "fake.log",
        ready_path=ready_path,
    )


def test_a_server_that_answers_is_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = _server(tmp_path, _SERVER).start()
    try:
        assert server.wait_ready(timeout=20) is True
        assert is_ready(server.url)
        assert not is_ready(server.url, "/elsewhere")
    finally:
        server.stop(timeout=5)

    assert server.returncode == -signal.SIGTERM
    assert "serving" in server.read_log()


def test_a_child_that_exits_while_starting_fails_with_its_code_and_log(tmp_path: Path) -> None:
    server = _server(tmp_path, "import sys; print('boom', flush=True); sys.exit(4)").start()

    with pytest.raises(
        ProcessExited, match="fake exited with code 4 while starting:\nboom"
    ) as info:
        server.wait_ready(timeout=20)
    assert info.value.code == 4


def test_a_child_that_never_answers_fails_at_the_deadline(tmp_path: Path) -> None:
    server = _server(tmp_path, "import time; time.sleep(30)").start()
    try:
        with pytest.raises(ProcessNotReady, match=r"fake not ready after 0\.3s"):
            server.wait_ready(timeout=0.3)
    finally:
        server.stop(timeout=5)


def test_waiting_ends_without_error_when_asked_to_stop(tmp_path: Path) -> None:
    server = _server(tmp_path, "import time; time.sleep(30)").start()
    stop = threading.Event()
    stop.set()
    try:
        assert server.wait_ready(timeout=20, stop=stop) is False
    finally:
        server.stop(timeout=5)


def test_a_child_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    server = _server(tmp_path, code).start()
    while "ready" not in server.read_log():
        assert server.returncode is None
        time.sleep(0.05)

    server.stop(timeout=0.3)

    assert server.returncode == -signal.SIGKILL


def test_a_server_that_was_never_started_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="fake was never started"):
        _server(tmp_path, _SERVER).wait_ready(timeout=1)


def test_wildcard_listen_addresses_are_dialled_on_loopback() -> None:
    assert base_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert base_url("::", 80) == "http://[::1]:80"


def test_each_test_worker_takes_ports_of_its_own_residue() -> None:
    for worker in ("gw0", "gw1", "gw2"):
        environ = {"PYTEST_XDIST_WORKER": worker, "PYTEST_XDIST_WORKER_COUNT": "3"}
        ports = {free_port(environ=environ) for _ in range(5)}
        assert {port_share(port, 3) for port in ports} == {int(worker[2:])}, (worker, ports)
