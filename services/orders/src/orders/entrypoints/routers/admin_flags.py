"""Run-time flags, for operators: read them, change them (audited), read who changed what."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema

from orders.adapters.product_clients.factory import ProductsSeam
from orders.application.flag_values import flag_annotation
from orders.application.flag_views import FallbackView, FlagChangeView, FlagsView, flags_view
from orders.application.flags import FLAG_NAMES, AdminFlagStore, check_actor
from orders.config import FeatureFlags
from orders.entrypoints.deps import AdminPrincipal
from servicekit.problems import problem_responses
from shop_contracts.limits import MAX_PAGE, MAX_REASON_LENGTH
from shop_contracts.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

router = APIRouter(prefix="/admin/flags", tags=["flags"])


async def _store(request: Request) -> AdminFlagStore:
    store: AdminFlagStore = request.app.state.flags
    return store


FlagStoreDep = Annotated[AdminFlagStore, Depends(_store)]


def _fallback(request: Request) -> FallbackView | None:
    """The canary fallback in force in this process (both clients built), if any."""
    router: ProductsSeam | None = request.app.state.product_router
    fallback = router.fallback if router is not None else None
    state = fallback.state() if fallback is not None else None
    if state is None:
        return None
    return FallbackView(at=state.at, reason=state.reason, pending=state.pending)


_FLAGS = ", ".join(sorted(FLAG_NAMES))


def _changes_schema() -> dict[str, Any]:
    """Each flag with its type and bounds (as ``FeatureFlags`` checks them), or null."""
    properties = {}
    for name, field in sorted(FeatureFlags.model_fields.items()):
        value = TypeAdapter(flag_annotation(name)).json_schema()
        value.pop("title", None)
        value.pop("description", None)
        properties[name] = {
            "anyOf": [value, {"type": "null"}],
            "description": (field.description or name) + "; null resets it to the default",
        }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
        "description": "Flag name → new value, or null to reset it to its default. Values are"
        ' not coerced: a value of another type (`true` for a number, `"5"` for an integer,'
        " `0` for a boolean) is refused; a number is judged by its value (`1` is a valid float,"
        " `5.0` a valid integer). An unknown name or a"
        " value the flag cannot take is 422 `invalid_flag`.",
        "examples": [{"products_client": "canary", "canary_share": 5}],
    }


# At least one character that is not white space; no NUL (PostgreSQL text cannot hold it).
_REASON_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"


class FlagChangesIn(BaseModel):
    """Flags to set (a value) or reset to their default (null), and why."""

    model_config = ConfigDict(extra="forbid")

    # A plain mapping at run time, so an unknown name is answered with invalid_flag
    # naming it; the document lists every flag with its type.
    changes: Annotated[dict[str, Any], Field(min_length=1), WithJsonSchema(_changes_schema())]
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON_LENGTH,
        pattern=_REASON_PATTERN,
        description="Why: recorded in the audit trail with the change (not only white space)",
    )


@router.get("", response_model=FlagsView, responses=problem_responses(401, 403, 503))
async def get_flags(_admin: AdminPrincipal, store: FlagStoreDep, request: Request) -> FlagsView:
    """The flags in force in this process, their defaults and overrides (admin only).

    Other processes read the same table and apply a change within
    `APP_FLAGS_REFRESH_SECONDS`. `fallback` shows the canary fallback while it
    holds the share at 0, including a trip whose write is still pending.
    """
    return flags_view(store, _fallback(request))


@router.patch(
    "", response_model=FlagsView, responses=problem_responses(400, 401, 403, 409, 413, 422, 503)
)
async def change_flags(
    admin: AdminPrincipal, body: FlagChangesIn, store: FlagStoreDep, request: Request
) -> FlagsView:
    """Set or reset flags, all or none, audited with the caller and the reason (admin only).

    Each value must have its flag's JSON type (no coercion: `true` is not 1,
    `"5"` not 5, `0` not false); an unknown flag or a value it cannot take is
    422 `invalid_flag` (`flag` names it, `invalid_params[].name` is its body
    path, `changes.<flag>`); a `products_client`
    whose clients this deployment did not build is 409 `products_client_unavailable`.
    The caller's subject `canary-fallback` is reserved for the canary fallback
    (readiness treats that actor's changes as the fallback's): 422 `reserved_actor`.
    The answer is the flags after the change, already in force in this process.
    """
    check_actor(admin.user_id)
    await store.change(body.changes, actor=admin.user_id, reason=body.reason)
    return flags_view(store, _fallback(request))


@router.get(
    "/history", response_model=Page[FlagChangeView], responses=problem_responses(401, 403, 422, 503)
)
async def flag_history(
    _admin: AdminPrincipal,
    store: FlagStoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Page[FlagChangeView]:
    """Every flag change, newest first: who, why, old and new value, request id (admin only)."""
    items, total = await store.history(page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)
