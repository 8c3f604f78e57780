"""A TCP proxy on 127.0.0.1 that can hold back chosen requests (timing control for crash tests).

It runs its own event loop in a background thread, so synchronous tests can use
it. While holding, any chunk a client sends that contains the hold marker waits
in the proxy until ``release``; everything else flows through untouched. With
``delay_seconds`` set, every API request waits that long first (a slowed upstream).
"""

import asyncio
import threading
import time
from typing import Any, Self

from tests.support.processes import free_port

_API_REQUEST = b" /api/v1/"


class HoldingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream_port>``."""

    def __init__(self, upstream_port: int, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        # A given port lets a test bring "the same" server back after stopping it.
        self.port = port or free_port()
        self._marker = b""
        self._holding = threading.Event()
        self._held: list[bytes] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="holding-proxy", daemon=True)
        self._error: BaseException | None = None
        # Seconds each API request waits in the proxy (a slowed products; 0: none).
        self.delay_seconds = 0.0

    @property
    def url(self) -> str:
        """Base URL clients use instead of the upstream's."""
        return f"http://127.0.0.1:{self.port}"

    def held(self, containing: bytes = b"") -> int:
        """How many chunks (containing ``containing``) have been held back so far."""
        with self._lock:
            return sum(containing in chunk for chunk in self._held)

    def start(self, timeout: float = 5.0) -> Self:
        """Start listening; returns once connections are accepted."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"proxy not listening after {timeout}s")
        if self._error is not None:
            raise RuntimeError("proxy failed to start") from self._error
        return self

    def hold(self, marker: bytes) -> None:
        """From now on, hold back chunks that contain ``marker`` (replaces an earlier one)."""
        self._marker = marker
        self._holding.set()

    def release(self) -> None:
        """Let every held chunk (and later ones) through."""
        self._holding.clear()

    def wait_held(self, count: int, timeout: float, containing: bytes = b"") -> int:
        """Wait until ``count`` such chunks are held or ``timeout`` passes; how many are."""
        deadline = time.monotonic() + timeout
        while self.held(containing) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.held(containing)

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listener and every connection; join the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._holding.clear()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[Any]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._forward(reader, writer)
            finally:
                handlers.discard(task)

        server = await asyncio.start_server(on_connect, "127.0.0.1", self.port)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()  # upstream is down: the client sees the connection drop
            return
        up_reader, up_writer = upstream
        await asyncio.gather(
            self._pipe(reader, up_writer, may_hold=True),
            self._pipe(up_reader, writer, may_hold=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, may_hold: bool
    ) -> None:
        try:
            while chunk := await source.read(65_536):
                if may_hold and self.delay_seconds > 0 and _API_REQUEST in chunk:
                    await asyncio.sleep(self.delay_seconds)
                if may_hold and self._holding.is_set() and self._marker in chunk:
                    with self._lock:
                        self._held.append(chunk)
                    # The flag is flipped from the test's thread, hence polling
                    # rather than an asyncio.Event bound to this loop.
                    while self._holding.is_set():  # noqa: ASYNC110
                        await asyncio.sleep(0.005)
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()
