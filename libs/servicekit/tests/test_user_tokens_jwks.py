"""User tokens by the identity provider's JWKS: rotation, outages, algorithm confusion, claims."""

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from servicekit.app import install_plumbing
from servicekit.auth import JwksVerifier
from servicekit.devidp import JwksServer, SigningKey, user_claims
from servicekit.jwks import NO_KEYS_RETRY, keys_from_jwks
from servicekit.settings import Environment, ServiceSettings

ClientFor = Callable[[ServiceSettings], AbstractAsyncContextManager[httpx.AsyncClient]]

ISSUER = "https://idp.test/realms/shop"
AUDIENCE = "shop"
TIMEOUT = 0.5


@pytest.fixture
def idp() -> Iterator[JwksServer]:
    """A JWKS server on loopback; each test publishes its keys."""
    server = JwksServer()
    with server.running():
        yield server


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("RS256", kid="rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="ec-1")


def _settings(idp: JwksServer, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "environment": Environment.TESTING,
        "jwt_jwks_url": idp.url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwt_jwks_timeout_seconds": TIMEOUT,
        "jwt_jwks_cache_seconds": 60,
        "jwt_jwks_min_refresh_seconds": 0,
        **overrides,
    }
    return ServiceSettings(**values)


@pytest.fixture
async def client(idp: JwksServer, client_for: ClientFor) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(_settings(idp)) as http:
        yield http


def _claims(**changes: Any) -> dict[str, Any]:
    return {**user_claims("alice", ["reader"], issuer=ISSUER, audience=AUDIENCE), **changes}


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/me", headers={"Authorization": f"Bearer {token}"})


def _assert_refused(response: httpx.Response, detail: str | None = None) -> None:
    """The problem shape every refusal has had since HS256: 401, the code, a Bearer challenge."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    if detail is not None:
        assert body["detail"] == detail


async def test_rs256_and_es256_tokens_from_the_published_keys_identify_the_user(
    idp: JwksServer, client: httpx.AsyncClient, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    idp.publish(rsa_key, ec_key)
    for key in (rsa_key, ec_key):
        response = await _me(client, key.sign(_claims()))
        assert response.status_code == 200, response.text
        assert response.json() == {"user_id": "alice", "roles": ["reader"]}


async def test_rotation_old_tokens_valid_while_published_refused_once_removed(
    idp: JwksServer, client_for: ClientFor, rsa_key: SigningKey
) -> None:
    new_key = SigningKey.generate("RS256", kid="rsa-2")
    idp.publish(rsa_key)
    async with client_for(_settings(idp, jwt_jwks_cache_seconds=0.2)) as client:
        old_token = rsa_key.sign(_claims())
        assert (await _me(client, old_token)).status_code == 200

        # The provider publishes the new key next to the old one and signs with it.
        idp.publish(rsa_key, new_key)
        assert (await _me(client, new_key.sign(_claims()))).status_code == 200
        assert (await _me(client, old_token)).status_code == 200

        # The old key is withdrawn: once the cache is older than its max age, a
        # background refresh drops it, and its tokens are refused from then on.
        idp.publish(new_key)
        deadline = time.monotonic() + 5
        while (await _me(client, old_token)).status_code == 200:
            assert time.monotonic() < deadline, "the removed key was still accepted"
            await asyncio.sleep(0.05)
        _assert_refused(await _me(client, old_token), "Token is signed by an unknown key")
        assert (await _me(client, new_key.sign(_claims()))).status_code == 200


async def test_with_the_jwks_down_cached_keys_work_and_an_unknown_kid_is_a_fast_401(
    idp: JwksServer, client: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    idp.publish(rsa_key)
    assert (await _me(client, rsa_key.sign(_claims()))).status_code == 200

    for mode in ("down", "stall"):
        idp.mode = mode
        assert (await _me(client, rsa_key.sign(_claims()))).status_code == 200
        stranger = SigningKey.generate("RS256", kid=f"unknown-{mode}")
        started = time.monotonic()
        _assert_refused(await _me(client, stranger.sign(_claims())))
        assert time.monotonic() - started < TIMEOUT + 0.4


async def test_the_first_fetch_failing_is_a_401_and_the_keys_arrive_when_it_is_back(
    idp: JwksServer, client: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    idp.publish(rsa_key)
    idp.mode = "stall"
    started = time.monotonic()
    _assert_refused(await _me(client, rsa_key.sign(_claims())))
    assert time.monotonic() - started < TIMEOUT + 0.4

    idp.mode = "up"
    assert (await _me(client, rsa_key.sign(_claims()))).status_code == 200


async def test_while_no_key_is_held_the_provider_is_asked_again_within_a_second(
    idp: JwksServer, client_for: ClientFor, rsa_key: SigningKey
) -> None:
    # The unknown-kid interval (60 s here) throttles strangers once keys are held;
    # before that every token waits on a fetch, so a provider back after a failed
    # first fetch is asked again within NO_KEYS_RETRY, not after the interval.
    idp.publish(rsa_key)
    idp.mode = "stall"
    async with client_for(_settings(idp, jwt_jwks_min_refresh_seconds=60)) as client:
        _assert_refused(await _me(client, rsa_key.sign(_claims())))
        idp.mode = "up"
        await asyncio.sleep(NO_KEYS_RETRY + 0.05)
        assert (await _me(client, rsa_key.sign(_claims()))).status_code == 200


async def test_the_keys_are_fetched_when_the_app_starts(
    idp: JwksServer, rsa_key: SigningKey
) -> None:
    idp.publish(rsa_key)
    app = FastAPI()
    install_plumbing(app, _settings(idp), "kit-test")
    verifier = app.state.user_tokens
    assert isinstance(verifier, JwksVerifier)
    async with LifespanManager(app):
        deadline = time.monotonic() + 5
        while "rsa-1" not in verifier.keys.key_ids:
            assert time.monotonic() < deadline, "no fetch at start-up"
            await asyncio.sleep(0.01)
    assert idp.fetches == 1


async def test_a_fetch_still_running_at_shutdown_is_cancelled(idp: JwksServer) -> None:
    idp.mode = "stall"
    app = FastAPI()
    install_plumbing(app, _settings(idp, jwt_jwks_timeout_seconds=30), "kit-test")
    verifier = app.state.user_tokens
    assert isinstance(verifier, JwksVerifier)
    started = time.monotonic()
    async with LifespanManager(app):
        await asyncio.sleep(0.05)
    assert time.monotonic() - started < 5  # shutdown did not wait out the stalled fetch
    assert verifier.keys.key_ids == frozenset()


async def test_unknown_kids_fetch_at_most_once_per_interval(
    idp: JwksServer, client_for: ClientFor, rsa_key: SigningKey
) -> None:
    idp.publish(rsa_key)
    async with client_for(_settings(idp, jwt_jwks_min_refresh_seconds=60)) as client:
        assert (await _me(client, rsa_key.sign(_claims()))).status_code == 200
        fetched = idp.fetches
        for n in range(20):
            stranger = SigningKey.generate("ES256", kid=f"random-{n}")
            _assert_refused(await _me(client, stranger.sign(_claims())))
        assert idp.fetches - fetched <= 1


def _b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(header)}.{_b64(claims)}."


def _hs256_with_public_key(key: SigningKey) -> str:
    """The classic confusion: HS256 keyed with the RSA public key the verifier holds."""
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims())}".encode()
    algorithm = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256)
    return f"{signing_input.decode()}.{_b64(algorithm.sign(signing_input, pem))}"


async def test_algorithm_confusion_is_refused(
    idp: JwksServer, client: httpx.AsyncClient, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    idp.publish(rsa_key, ec_key)
    forged_with_ec_header = ec_key.sign(_claims(), headers={"kid": rsa_key.kid})
    cases = {
        "hs256-with-the-public-key": _hs256_with_public_key(rsa_key),
        "alg-none": _unsigned({"alg": "none", "kid": rsa_key.kid}, _claims()),
        "alg-none-capitalised": _unsigned({"alg": "None", "kid": rsa_key.kid}, _claims()),
        "es256-naming-an-rsa-kid": forged_with_ec_header,
        "rs256-signature-under-es256": _swap_alg(rsa_key.sign(_claims()), "ES256", ec_key.kid),
        "no-kid": jwt.encode(_claims(), rsa_key.private_key, algorithm="RS256"),
        "unsigned-rs256": _unsigned({"alg": "RS256", "kid": rsa_key.kid}, _claims()),
    }
    for name, token in cases.items():
        response = await _me(client, token)
        assert response.status_code == 401, (name, response.text)
        _assert_refused(response)


def _swap_alg(token: str, alg: str, kid: str) -> str:
    _, payload, signature = token.split(".")
    return f"{_b64({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{payload}.{signature}"


def test_a_published_hmac_key_or_a_key_of_a_refused_algorithm_is_never_loaded(
    rsa_key: SigningKey,
) -> None:
    oct_key = {"kty": "oct", "kid": "shared", "k": _b64(b"s" * 32)}
    encryption = {**rsa_key.public_jwk(), "kid": "enc", "use": "enc"}
    ps256 = {**rsa_key.public_jwk(), "kid": "ps", "alg": "PS256"}
    document = {"keys": [oct_key, encryption, ps256, rsa_key.public_jwk(), "junk"]}
    assert set(keys_from_jwks(document, {"RS256", "ES256"})) == {rsa_key.kid}


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        pytest.param({"exp": int(time.time()) - 120}, "Token has expired", id="expired"),
        pytest.param({"nbf": int(time.time()) + 600}, "Token is not yet valid", id="not-yet-valid"),
        pytest.param({"iss": "https://evil.test"}, "Token is from another issuer", id="issuer"),
        pytest.param({"aud": "another-app"}, "Token is for another audience", id="audience"),
        pytest.param({"iss": None}, "Invalid token", id="no-issuer"),
        pytest.param({"aud": None}, "Invalid token", id="no-audience"),
        pytest.param({"exp": None}, "Invalid token", id="no-expiry"),
        pytest.param({"sub": None}, "Invalid token", id="no-subject"),
    ],
)
async def test_claims_are_checked_with_the_problem_shape_of_today(
    idp: JwksServer,
    client: httpx.AsyncClient,
    rsa_key: SigningKey,
    changes: dict[str, Any],
    detail: str,
) -> None:
    idp.publish(rsa_key)
    claims = {k: v for k, v in _claims(**changes).items() if v is not None}
    _assert_refused(await _me(client, rsa_key.sign(claims)), detail)


async def test_a_user_token_never_opens_an_internal_route(
    idp: JwksServer, client: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    idp.publish(rsa_key)
    token = rsa_key.sign(_claims(roles=["admin"]))
    response = await client.get("/internal", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
