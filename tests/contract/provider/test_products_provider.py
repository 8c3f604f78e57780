"""Products honours every interaction orders recorded in its pact."""

import json
from pathlib import Path

import pytest
from pact import Verifier
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.contract import states
from tests.contract.conftest import PACT_GROUP
from tests.contract.provider.conftest import PROVIDER_SERVICE_TOKEN, products_app
from tests.contract.provider.server import ThreadedServer
from tests.contract.provider.states import ProviderStates

# One worker for every pact test (tests/contract/conftest.py, PACT_GROUP).
pytestmark = pytest.mark.xdist_group(PACT_GROUP)


def _verifier(provider_url: str, pact_file: Path, provider_states: ProviderStates) -> Verifier:
    provider_states.provider_url = provider_url
    return (
        Verifier("products", host="127.0.0.1")
        .add_transport(url=provider_url)
        .add_source(pact_file)
        .state_handler(provider_states.handle, teardown=False)
        # Replaces the pact's placeholder credential with the provider's real one.
        .add_custom_header("Authorization", f"Bearer {PROVIDER_SERVICE_TOKEN}")
        .set_error_on_empty_pact(enabled=True)
    )


def _verify(verifier: Verifier) -> None:
    try:
        verifier.verify()
    finally:
        # pact-python 4.2's state callback server is shut down but its listening
        # socket never closed: a ResourceWarning, which is an error in this suite.
        server = getattr(getattr(verifier, "_state_handler", None), "_server", None)
        if server is not None:
            server.server_close()


def _pact_states(pact_file: Path) -> set[str]:
    pact = json.loads(pact_file.read_text())
    return {
        state["name"]
        for interaction in pact["interactions"]
        for state in interaction.get("providerStates", [])
    }


def test_every_state_in_the_pact_has_a_handler(
    pact_file: Path, provider_states: ProviderStates
) -> None:
    # An unhandled state makes the verifier retry for minutes; fail here instead.
    assert _pact_states(pact_file) <= provider_states.names
    assert provider_states.names == states.ALL_STATES


def test_products_satisfies_the_orders_pact(
    provider_url: str, pact_file: Path, provider_states: ProviderStates
) -> None:
    _verify(_verifier(provider_url, pact_file, provider_states))


class _RenameJsonField:
    """A products that renamed a response field: the break the pact must catch."""

    def __init__(self, app: ASGIApp, old: str, new: str) -> None:
        self.app = app
        self._old = f'"{old}"'.encode()
        self._new = f'"{new}"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks).replace(self._old, self._new)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def test_verification_fails_when_products_renames_a_field_orders_reads(
    provider_database: str, pact_file: Path, provider_states: ProviderStates
) -> None:
    broken = _RenameJsonField(products_app(provider_database), "stock_available", "stock")
    with ThreadedServer(broken, name="broken-provider") as server:
        verifier = _verifier(server.url, pact_file, provider_states)
        with pytest.raises(RuntimeError, match="Failed to execute verifier"):
            _verify(verifier)

    output = verifier.output(strip_ansi=True)
    assert "stock_available" in output
    assert "a request for a product" in output
