"""``python -m servicekit.devidp``: compose's dev-idp serves the JWKS, and signs tokens for it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest

from servicekit.devidp import JWKS_PATH, main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _jwks(url: str, deadline: float) -> dict[str, Any]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                document: dict[str, Any] = json.load(response)
                return document
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_token_uses_the_key_file_issuer_and_audience_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {
        "DEV_JWT_KEY_FILE": str(tmp_path / "idp" / "key.pem"),
        "DEV_JWT_ISSUER": "compose-issuer",
        "DEV_JWT_AUDIENCE": "compose-audience",
    }

    assert main(["token", "alice", "admin"], environ) == 0

    token = capsys.readouterr().out.strip()
    assert (tmp_path / "idp" / "key.pem").is_file()  # created on first use
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["roles"]) == ("alice", ["admin"])
    assert (claims["iss"], claims["aud"]) == ("compose-issuer", "compose-audience")


def test_serve_publishes_the_key_tokens_are_signed_with_and_stops_on_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file, port = tmp_path / "key.pem", _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "servicekit.devidp", "serve", "--port", str(port)],
        env={**os.environ, "DEV_JWT_KEY_FILE": str(key_file)},
        stderr=subprocess.DEVNULL,
    )
    try:
        document = _jwks(f"http://127.0.0.1:{port}{JWKS_PATH}", time.monotonic() + 20)
        assert main(["token", "bob"], {"DEV_JWT_KEY_FILE": str(key_file)}) == 0
        token = capsys.readouterr().out.strip()
        (jwk,) = document["keys"]
        assert jwk["kid"] == jwt.get_unverified_header(token)["kid"]
        public = jwt.PyJWK(jwk).key
        assert jwt.decode(token, public, algorithms=["RS256"], audience="shop")["sub"] == "bob"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
