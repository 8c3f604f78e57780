"""Verified tokens kept per process: what a hit still checks, and what empties the cache."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from servicekit.auth import Principal, mint_user_token, user_token_verifier
from servicekit.devidp import JwksServer, SigningKey, user_claims
from servicekit.problems import HttpProblem
from servicekit.settings import Environment, ServiceSettings
from servicekit.verified_tokens import VerifiedTokens

ISSUER = "https://idp.test/realms/shop"
AUDIENCE = "shop"
SECRET = "a-development-secret-of-enough-length-0001"


@pytest.fixture
def idp() -> Iterator[JwksServer]:
    """A JWKS server on loopback; each test publishes its keys."""
    server = JwksServer()
    with server.running():
        yield server


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature and claims PyJWT checks."""
    checked: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return checked


def _jwks_settings(idp: JwksServer) -> ServiceSettings:
    return ServiceSettings(
        environment=Environment.TESTING,
        jwt_jwks_url=idp.url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_jwks_timeout_seconds=0.5,
        jwt_jwks_cache_seconds=60,
        jwt_jwks_min_refresh_seconds=0,
    )


def _hs256_settings() -> ServiceSettings:
    return ServiceSettings(environment=Environment.TESTING, jwt_secret=SecretStr(SECRET))


def _claims(**changes: Any) -> dict[str, Any]:
    return {**user_claims("alice", ["reader"], issuer=ISSUER, audience=AUDIENCE), **changes}


async def _refusal(verify: Any, token: str) -> str | None:
    with pytest.raises(HttpProblem) as refused:
        await verify(token)
    assert refused.value.status == 401
    return refused.value.detail


async def test_a_token_seen_again_is_not_verified_again(
    idp: JwksServer, decodes: list[str]
) -> None:
    key = SigningKey.generate("RS256", kid="rsa-1")
    idp.publish(key)
    verifier = user_token_verifier(_jwks_settings(idp))
    token = key.sign(_claims())
    first, second = await verifier.verify(token), await verifier.verify(token)
    assert first == second == Principal("alice", "alice@example.com", frozenset({"reader"}))
    assert decodes == [token]


async def test_a_cached_token_is_refused_the_moment_its_key_leaves_the_jwks(
    idp: JwksServer, decodes: list[str]
) -> None:
    old, new = SigningKey.generate("RS256", kid="old"), SigningKey.generate("ES256", kid="new")
    idp.publish(old, new)
    verifier = user_token_verifier(_jwks_settings(idp))
    token = old.sign(_claims())
    await verifier.verify(token)
    await verifier.verify(token)
    assert decodes == [token]  # the second was a hit

    # The provider withdraws the key. The keys are 60 s fresh, so nothing re-reads
    # them until a token names a kid the process does not hold.
    idp.publish(new)
    stranger = SigningKey.generate("RS256", kid="stranger").sign(_claims())
    assert await _refusal(verifier.verify, stranger) == "Token is signed by an unknown key"
    assert await _refusal(verifier.verify, token) == "Token is signed by an unknown key"
    assert (await verifier.verify(new.sign(_claims()))).user_id == "alice"


async def test_a_re_read_of_the_keys_re_verifies_cached_tokens_once(
    idp: JwksServer, decodes: list[str]
) -> None:
    key = SigningKey.generate("RS256", kid="rsa-1")
    idp.publish(key)
    verifier = user_token_verifier(_jwks_settings(idp))
    token = key.sign(_claims())
    await verifier.verify(token)
    stranger = SigningKey.generate("RS256", kid="stranger").sign(_claims())
    await _refusal(verifier.verify, stranger)  # re-reads the same set
    await verifier.verify(token)
    await verifier.verify(token)
    assert decodes == [token, token]


async def test_expiry_still_applies_on_a_hit(decodes: list[str]) -> None:
    settings = _hs256_settings()
    verifier = user_token_verifier(settings)
    expires = int(time.time()) + 1
    token = jwt.encode({"sub": "alice", "exp": expires}, SECRET, algorithm="HS256")
    await verifier.verify(token)
    await verifier.verify(token)
    assert decodes == [token]
    await asyncio.sleep(expires - time.time() + 0.01)  # PyJWT: expired once exp <= now
    assert await _refusal(verifier.verify, token) == "Token has expired"


async def test_another_token_string_is_never_a_hit(decodes: list[str]) -> None:
    settings = _hs256_settings()
    verifier = user_token_verifier(settings)
    claims = {"sub": "alice", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    await verifier.verify(token)
    # The same header and claims, re-signed with another secret: another signature.
    forged = jwt.encode(claims, "another-secret-of-enough-length-00000001", algorithm="HS256")
    assert forged.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    assert await _refusal(verifier.verify, forged) == "Invalid token"
    assert decodes == [token, forged]


async def test_another_hs256_secret_empties_the_cache(decodes: list[str]) -> None:
    settings = _hs256_settings()
    verifier = user_token_verifier(settings)
    token = mint_user_token(settings, "alice")
    await verifier.verify(token)
    settings.jwt_secret = SecretStr("a-development-secret-of-enough-length-0002")
    assert await _refusal(verifier.verify, token) == "Invalid token"
    assert decodes == [token, token]


def test_the_cache_is_bounded_and_forgets_the_oldest_first() -> None:
    cache: VerifiedTokens[str] = VerifiedTokens(max_entries=2, clock=lambda: 100.0)
    for token in ("a", "b", "c"):
        cache.put(token, "keys", {"exp": 200}, token.upper())
    assert len(cache) == 2
    assert [cache.get(t, "keys") for t in ("a", "b", "c")] == [None, "B", "C"]


def test_a_hit_checks_exp_and_nbf_as_pyjwt_does() -> None:
    now = [100.0]
    cache: VerifiedTokens[str] = VerifiedTokens(clock=lambda: now[0])
    cache.put("t", "keys", {"exp": "150", "nbf": 90, "iat": 95.5}, "alice")
    assert cache.get("t", "keys") == "alice"
    now[0] = 150.0  # PyJWT: expired once exp <= now
    assert cache.get("t", "keys") is None
    cache.put("early", "keys", {"exp": 150, "nbf": 120}, "bob")
    now[0] = 110.0
    assert cache.get("early", "keys") is None


def test_other_keys_empty_the_cache() -> None:
    cache: VerifiedTokens[str] = VerifiedTokens(clock=lambda: 100.0)
    cache.put("t", 1, {"exp": 200}, "alice")
    assert cache.get("t", 2) is None
    assert cache.get("t", 1) is None
    assert len(cache) == 0
