"""User JWTs (identity provider's keys, or HS256 in development) and service credentials."""

import hmac
import time
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import jwt
from fastapi import FastAPI

from servicekit.jwks import JwksKeyStore
from servicekit.lifespan import while_serving
from servicekit.problems import HttpProblem
from servicekit.settings import ServiceSettings
from servicekit.verified_tokens import VerifiedTokens
from shop_contracts.errors import ErrorCode
from shop_contracts.limits import MAX_EMAIL_LENGTH, MAX_KEY_LENGTH

ADMIN_ROLE = "admin"
_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="shop"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user behind a request."""

    user_id: str
    email: str | None
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        """Whether the user may use admin endpoints."""
        return ADMIN_ROLE in self.roles


def unauthenticated(detail: str) -> HttpProblem:
    """401 problem with a Bearer challenge."""
    return HttpProblem(
        401, ErrorCode.NOT_AUTHENTICATED, "Not authenticated", detail, headers=_BEARER_CHALLENGE
    )


def forbidden(detail: str) -> HttpProblem:
    """403 problem."""
    return HttpProblem(403, ErrorCode.FORBIDDEN, "Forbidden", detail)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header, or a 401."""
    if not authorization:
        raise unauthenticated("Missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Authorization must be a Bearer token")
    return token.strip()


class UserTokenVerifier(Protocol):
    """Turns a bearer token into the user behind it, or raises a 401 problem."""

    async def verify(self, token: str) -> Principal:
        """The user behind a valid token."""
        ...


class SharedSecretVerifier:
    """HS256 with ``APP_JWT_SECRET``: development and tests (production only if allowed)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._verified: VerifiedTokens[Principal] = VerifiedTokens()

    async def verify(self, token: str) -> Principal:
        """The user behind a valid token."""
        # The secret in force names the cache's keys: another secret empties it.
        secret = self._settings.jwt_secret.get_secret_value()
        cached = self._verified.get(token, secret)
        if cached is not None:
            return cached
        claims = _verified_claims(token, secret, (self._settings.jwt_algorithm,), self._settings)
        principal = principal_from_claims(claims)
        self._verified.put(token, secret, claims, principal)
        return principal


class JwksVerifier:
    """The identity provider's tokens: signature by a JWKS key of an allowed algorithm."""

    def __init__(self, settings: ServiceSettings, keys: JwksKeyStore) -> None:
        self._settings = settings
        self.keys = keys  # the app's lifespan prefetches and closes it
        self._algorithms = tuple(settings.jwt_algorithms)
        self._verified: VerifiedTokens[Principal] = VerifiedTokens()

    async def verify(self, token: str) -> Principal:
        """The user behind a valid token; an unknown key or a JWKS outage is a 401, never a 500."""
        # A hit still keeps the keys' refresh cadence, so removals keep reaching the
        # process; the generation names the key set a hit was verified with.
        self.keys.refresh_if_stale()
        cached = self._verified.get(token, self.keys.generation)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthenticated("Invalid token") from exc
        # Checked before any key is looked up: `none`, HS256 (signed with a public
        # key as its secret) and anything else not allowed never reach a fetch.
        if header.get("alg") not in self._algorithms:
            raise unauthenticated("Token algorithm is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise unauthenticated("Token has no key id")
        key = await self.keys.key(kid)
        if key is None:
            raise unauthenticated("Token is signed by an unknown key")
        # A PyJWK verifies only with the algorithm bound to it, so an EC token
        # naming an RSA key's kid is refused, not tried.
        claims = _verified_claims(token, key, self._algorithms, self._settings)
        principal = principal_from_claims(claims)
        # Read after the key lookup, which may have replaced the set: this key is of it.
        self._verified.put(token, self.keys.generation, claims, principal)
        return principal


def user_token_verifier(settings: ServiceSettings) -> UserTokenVerifier:
    """The JWKS verifier when ``APP_JWT_JWKS_URL`` is set, else the HS256 one."""
    if settings.jwt_jwks_url is None:
        return SharedSecretVerifier(settings)
    store = JwksKeyStore(
        settings.jwt_jwks_url,
        algorithms=settings.jwt_algorithms,
        timeout=settings.jwt_jwks_timeout_seconds,
        max_age=settings.jwt_jwks_cache_seconds,
        min_interval=settings.jwt_jwks_min_refresh_seconds,
    )
    return JwksVerifier(settings, store)


def decode_user_token(token: str, settings: ServiceSettings) -> Principal:
    """HS256: verify signature, algorithm, expiry and required claims; 401 on any failure."""
    claims = _verified_claims(
        token, settings.jwt_secret.get_secret_value(), (settings.jwt_algorithm,), settings
    )
    return principal_from_claims(claims)


def _verified_claims(
    token: str, key: Any, algorithms: Collection[str], settings: ServiceSettings
) -> dict[str, Any]:
    required = ["sub", "exp"]
    if settings.jwt_issuer:
        required.append("iss")
    if settings.jwt_audience:
        required.append("aud")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated("Token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise unauthenticated("Token is not yet valid") from exc
    except jwt.InvalidIssuerError as exc:
        raise unauthenticated("Token is from another issuer") from exc
    except jwt.InvalidAudienceError as exc:
        raise unauthenticated("Token is for another audience") from exc
    # Every other PyJWT error, key errors included, is a refusal, not a 500.
    except jwt.PyJWTError as exc:
        raise unauthenticated("Invalid token") from exc
    return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The user named by verified claims; 401 if a claim cannot be stored or is of a service."""
    sub = claims.get("sub")
    roles = claims.get("roles", [])
    email = claims.get("email")
    # The subject and e-mail are stored with every order: a value no column can
    # hold is refused here, not by the database after stock was reserved.
    if not _storable(sub, MAX_KEY_LENGTH) or not sub:
        raise unauthenticated("Invalid token subject")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise unauthenticated("Invalid token roles")
    if email is not None and not _storable(email, MAX_EMAIL_LENGTH):
        raise unauthenticated("Invalid token email")
    if claims.get("typ") == "service":
        raise unauthenticated("Service credentials are not user tokens")
    return Principal(user_id=sub, email=email, roles=frozenset(roles))


def _storable(value: object, max_length: int) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def identify_service_caller(token: str, settings: ServiceSettings) -> str:
    """The configured caller this credential belongs to, or a 403.

    Every configured token is compared (constant time each), so how long this
    takes says nothing about which caller, or which of its two tokens, matched.
    """
    presented = token.encode()
    caller = None
    for name, tokens in settings.accepted_service_callers().items():
        for expected in tokens:
            if hmac.compare_digest(presented, expected.encode()) and caller is None:
                caller = name
    if caller is None:
        raise forbidden("A service credential is required for internal endpoints")
    return caller


def mint_user_token(
    settings: ServiceSettings,
    user_id: str,
    roles: Sequence[str] = (),
    email: str | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """An HS256 user JWT with ``APP_JWT_SECRET`` (tests of the shared-secret path)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": user_id,
        "email": email or f"{user_id}@example.com",
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )


def fetch_keys_at_startup(app: FastAPI) -> None:
    """Wrap ``app``'s lifespan: a JWKS verifier's keys are fetched once the app starts.

    In the background, so start-up and readiness never wait on the identity
    provider; a burst of first requests then finds the keys instead of all
    waiting on (or, if the provider is slow, failing with) the first fetch.
    """
    verifier = app.state.user_tokens
    if not isinstance(verifier, JwksVerifier):
        return
    keys = verifier.keys

    @asynccontextmanager
    async def keys_fetched() -> AsyncIterator[None]:
        keys.prefetch()
        try:
            yield
        finally:
            await keys.aclose()

    while_serving(app, keys_fetched)
