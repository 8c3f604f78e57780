"""FastAPI dependencies for authentication, shared by both services."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.auth import (
    Principal,
    decode_user_token,
    forbidden,
    unauthenticated,
    verify_service_token,
)
from servicekit.settings import ServiceSettings

_user_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserJWT",
    bearerFormat="JWT",
    description="A user's JWT (HS256; `sub`, `roles`, `exp`). `just token USER [ROLES...]`"
    " mints one for development.",
)
_service_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ServiceToken",
    bearerFormat="opaque",
    description="The service credential (`APP_SERVICE_TOKEN`) that orders sends to products'"
    " internal endpoints. Never a user JWT.",
)


def app_settings(request: Request) -> ServiceSettings:
    """The settings the app was created with (``app.state.settings``)."""
    settings: ServiceSettings = request.app.state.settings
    return settings


def _credentials(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise unauthenticated("Missing or malformed Bearer token")
    return creds.credentials


async def current_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_user_bearer)],
) -> Principal:
    """The user behind a valid JWT, or 401."""
    return decode_user_token(_credentials(creds), app_settings(request))


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
) -> None:
    """Only the service credential passes; a user token gets 403, none gets 401."""
    verify_service_token(_credentials(creds), app_settings(request))


ServiceCaller = Depends(service_caller)
