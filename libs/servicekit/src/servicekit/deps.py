"""FastAPI dependencies for authentication, shared by both services."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.auth import (
    Principal,
    UserTokenVerifier,
    forbidden,
    identify_service_caller,
    unauthenticated,
)
from servicekit.settings import ServiceSettings

_user_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserJWT",
    bearerFormat="JWT",
    description="A user's JWT from the identity provider (RS256 or ES256, keys from its JWKS;"
    " `sub`, `roles`, `exp`, `iss`, `aud`). `just token USER [ROLES...]` mints one for"
    " development.",
)
_service_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ServiceToken",
    bearerFormat="opaque",
    description="A calling service's credential (orders sends its `APP_SERVICE_TOKEN`;"
    " products accepts the callers in `APP_SERVICE_CALLERS`). Never a user JWT.",
)


def app_settings(request: Request) -> ServiceSettings:
    """The settings the app was created with (``app.state.settings``)."""
    settings: ServiceSettings = request.app.state.settings
    return settings


def user_tokens(request: Request) -> UserTokenVerifier:
    """The app's user-token verifier (``app.state.user_tokens``, set by ``install_plumbing``)."""
    verifier: UserTokenVerifier = request.app.state.user_tokens
    return verifier


def _credentials(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise unauthenticated("Missing or malformed Bearer token")
    return creds.credentials


UserCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_user_bearer)]
"""The bearer token as the ``UserJWT`` security scheme reads it (what the OpenAPI document
declares); ``verified_principal`` turns it into the user."""


async def verified_principal(
    request: Request, creds: HTTPAuthorizationCredentials | None
) -> Principal:
    """The user behind ``creds`` (a ``UserCredentials``), or 401.

    For a dependency that needs the user among other things: one dependency
    instead of a chain costs FastAPI fewer levels to solve per request.
    """
    return await user_tokens(request).verify(_credentials(creds))


async def current_principal(request: Request, creds: UserCredentials) -> Principal:
    """The user behind a valid JWT, or 401."""
    return await verified_principal(request, creds)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def admin_principal(principal: CurrentPrincipal) -> Principal:
    """A user with the admin role, or 403."""
    if not principal.is_admin:
        raise forbidden("The admin role is required")
    return principal


AdminPrincipal = Annotated[Principal, Depends(admin_principal)]


async def service_caller(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_service_bearer)],
) -> str:
    """The configured caller (e.g. ``orders``); a user token or an unknown one gets 403, none 401."""
    caller = identify_service_caller(_credentials(creds), app_settings(request))
    request.state.service_caller = caller
    return caller


ServiceCaller = Depends(service_caller)
