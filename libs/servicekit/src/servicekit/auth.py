"""User JWTs and the service credential.

Users carry an HS256 JWT (``sub``, ``email``, ``roles``, ``exp``). Service-to-
service calls carry a separate opaque bearer credential that a user token can
never satisfy.
"""

import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from servicekit.problems import HttpProblem
from servicekit.settings import ServiceSettings
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


def decode_user_token(token: str, settings: ServiceSettings) -> Principal:
    """Verify signature, algorithm, expiry and required claims; 401 on any failure."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated("Token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise unauthenticated("Invalid token") from exc
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


def _storable(value: object, max_length: int) -> bool:
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def verify_service_token(token: str, settings: ServiceSettings) -> None:
    """Accept only the configured service credential (constant-time compare)."""
    expected = settings.service_token.get_secret_value().encode()
    if not hmac.compare_digest(token.encode(), expected):
        raise forbidden("A service credential is required for internal endpoints")


def mint_user_token(
    settings: ServiceSettings,
    user_id: str,
    roles: Sequence[str] = (),
    email: str | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """Create a signed user JWT (dev tooling and tests)."""
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
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )
