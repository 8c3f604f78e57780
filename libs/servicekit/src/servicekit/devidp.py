"""A development identity provider: a signing key pair, its JWKS over HTTP, and user tokens.

``just dev`` serves the public half of a key kept in the data directory and
``just token`` signs with the private half; the tests run the same server with
keys they rotate, remove or take offline. No service imports this module: the
services only ever hold public keys (ADR 0021).

``python -m servicekit.devidp serve`` runs it alone (compose's ``dev-idp``
service), and ``python -m servicekit.devidp token USER [ROLES...]`` signs with
its key; both read ``DEV_JWT_KEY_FILE``, ``DEV_JWT_ISSUER`` and
``DEV_JWT_AUDIENCE``.
"""

import argparse
import base64
import hashlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

DEV_JWT_ISSUER = "shop-dev-identity-provider"
DEV_JWT_AUDIENCE = "shop"
JWKS_PATH = "/.well-known/jwks.json"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(private_key: PrivateKey) -> dict[str, Any]:
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return dict(json.loads(RSAAlgorithm.to_jwk(public)))
    return dict(json.loads(ECAlgorithm.to_jwk(public)))


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): a ``kid`` that names the key itself."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    """A private key, the algorithm it signs with, and its ``kid``."""

    private_key: PrivateKey
    algorithm: str
    kid: str

    @classmethod
    def generate(cls, algorithm: str = "RS256", kid: str | None = None) -> "SigningKey":
        """A fresh RSA-2048 (RS256) or P-256 (ES256) key."""
        private_key: PrivateKey
        if algorithm == "RS256":
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"unsupported algorithm {algorithm}")
        return cls(private_key, algorithm, kid or thumbprint(_public_jwk(private_key)))

    @classmethod
    def load_or_create(cls, path: Path) -> "SigningKey":
        """The RS256 key in the PEM file at ``path``, created (mode 0600) if it is missing."""
        if not path.exists():
            key = cls.generate("RS256")
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # O_EXCL: two processes starting at once keep the first key, not a torn one.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return cls.load_or_create(path)
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
            return key
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return cls(loaded, "RS256", thumbprint(_public_jwk(loaded)))

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, with ``kid``, ``alg`` and ``use``."""
        return {
            **_public_jwk(self.private_key),
            "kid": self.kid,
            "alg": self.algorithm,
            "use": "sig",
        }

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        """A JWS of ``claims`` with this key (``kid`` in the header unless overridden)."""
        return jwt.encode(
            dict(claims),
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


def user_claims(
    user_id: str,
    roles: Sequence[str] = (),
    *,
    issuer: str = DEV_JWT_ISSUER,
    audience: str = DEV_JWT_AUDIENCE,
    email: str | None = None,
    ttl_seconds: int = 3600,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims an identity provider puts in a user's access token."""
    issued = int(time.time()) if now is None else now
    return {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "email": email or f"{user_id}@example.com",
        "roles": list(roles),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }


class JwksServer:
    """Serves a JWKS on 127.0.0.1 from a thread; the keys and its availability can change.

    ``mode`` is ``up``, ``down`` (503) or ``stall`` (accepts, then answers only
    after ``stall_seconds``: a fetch that must be cut off by its timeout).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._keys: list[dict[str, Any]] = []
        self.mode = "up"
        self.stall_seconds = 30.0
        self.fetches = 0
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The JWKS URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{JWKS_PATH}"

    def publish(self, *keys: SigningKey) -> None:
        """Serve exactly these keys from now on."""
        with self._lock:
            self._keys = [key.public_jwk() for key in keys]

    def document(self) -> dict[str, Any]:
        """The JWKS as served now."""
        with self._lock:
            return {"keys": list(self._keys)}

    def start(self) -> "JwksServer":
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="jwks-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    @contextmanager
    def running(self) -> Iterator["JwksServer"]:
        """Serve for the block."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != JWKS_PATH:
                    self.send_error(404)
                    return
                with server._lock:
                    server.fetches += 1
                if server.mode == "stall":
                    time.sleep(server.stall_seconds)
                if server.mode != "up":
                    self.send_error(503)
                    return
                body = json.dumps(server.document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the runner and the tests print what matters

        return Handler


DEFAULT_KEY_FILE = Path("data") / "dev-jwt-key.pem"
DEFAULT_PORT = 8080


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m servicekit.devidp",
        description="The development identity provider: serve its JWKS, or sign a user token"
        " with its key (created on first use).",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        default=Path(environ.get("DEV_JWT_KEY_FILE") or DEFAULT_KEY_FILE),
        help="the RS256 signing key, PEM (DEV_JWT_KEY_FILE; default data/dev-jwt-key.pem)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help=f"serve the public key at {JWKS_PATH}")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    token = commands.add_parser("token", help="print a one-hour user token")
    token.add_argument("--issuer", default=environ.get("DEV_JWT_ISSUER") or DEV_JWT_ISSUER)
    token.add_argument("--audience", default=environ.get("DEV_JWT_AUDIENCE") or DEV_JWT_AUDIENCE)
    token.add_argument("user_id")
    token.add_argument("roles", nargs="*")
    return parser


def _serve_until_stopped(server: JwksServer) -> None:
    # PID 1 in a container ignores SIGTERM unless a handler is installed.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with server.running():
        print(f"serving the development JWKS at {server.url}", file=sys.stderr, flush=True)
        stop.wait()


def main(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> int:
    """``serve`` blocks until SIGTERM or SIGINT; ``token`` prints one token."""
    args = _parser(environ).parse_args(argv)
    key = SigningKey.load_or_create(args.key_file)
    if args.command == "serve":
        server = JwksServer(args.host, args.port)
        server.publish(key)
        _serve_until_stopped(server)
        return 0
    claims = user_claims(args.user_id, args.roles, issuer=args.issuer, audience=args.audience)
    print(key.sign(claims))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
