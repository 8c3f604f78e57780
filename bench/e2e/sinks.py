"""Receivers the variant rows need: an OTLP/HTTP endpoint that discards, a throw-away exchange.

Tracing on has to export for its cost to be real; the sink answers every
``POST /v1/traces`` with an empty (valid) protobuf response after reading the
body, in a thread of the bench process, so the export work is the app's and
the receiving side costs the app nothing.
"""

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


class OtlpSink:
    """``POST /v1/traces`` on 127.0.0.1 (free port): read, count, discard, answer 200."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    sink.requests += 1
                    sink.bytes += len(body)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """Base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def tracing_env(self) -> dict[str, str]:
        """The standard variables that turn tracing on (every span sampled) towards this sink."""
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "orders-bench",
        }

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


def bench_exchange() -> str:
    """An exchange name no other run uses (nothing binds a queue to it)."""
    return f"bench.e2e.{secrets.token_hex(4)}"


async def delete_exchange(name: str) -> None:
    """Remove the run's exchange; a broker that is gone leaves nothing to clean."""
    import aio_pika

    try:
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.exchange_delete(name)
    except Exception as exc:  # the rows are measured; cleanup must not lose them
        print(f"could not delete exchange {name}: {exc!r}", flush=True)
