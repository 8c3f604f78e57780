"""Run-time flags, for operators: read them, change them (audited), read who changed what."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema

from cutover.flags.errors import FALLBACK_ACTOR, check_actor
from cutover.flags.service import ServiceFlags
from cutover.flags.store import AdminFlagStore, FlagChangeView
from cutover.flags.values import flag_annotation
from cutover.flags.views import FlagViews
from seam import FallbackState, Mode
from servicekit.deps import AdminPrincipal
from servicekit.problems import problem_responses
from shop_contracts.limits import MAX_PAGE, MAX_REASON_LENGTH
from shop_contracts.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

StoreOf = Callable[[Request], Awaitable[AdminFlagStore[Any]]]
"""The service's store, as a request reaches it (a dependency; async: no thread hop)."""
FallbackOf = Callable[[Request], FallbackState | None]
"""The canary fallback in force in the process a request reached, if any."""

_GET = """The flags in force in this process, their defaults and overrides (admin only).

Other processes read the same table and apply a change within
`{refresh}`. `fallback` shows the canary fallback while it
holds the share at 0, including a trip whose write is still pending."""

_PATCH = """Set or reset flags, all or none, audited with the caller and the reason (admin only).

Each value must have its flag's JSON type (no coercion: `true` is not 1,
`"5"` not 5, `0` not false); an unknown flag or a value it cannot take is
422 `invalid_flag` (`flag` names it, `invalid_params[].name` is its body
path, `changes.<flag>`); a `{mode}`
whose clients this deployment did not build is 409 `{unavailable}`.
The caller's subject `{fallback}` is reserved for the canary fallback
(readiness treats that actor's changes as the fallback's): 422 `reserved_actor`.
The answer is the flags after the change, already in force in this process."""

# At least one character that is not white space; no NUL (PostgreSQL text cannot hold it).
_REASON_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"


def _changes_schema(flags: ServiceFlags[Any]) -> dict[str, Any]:
    """Each flag with its type and bounds (as the model checks them), or null."""
    properties = {}
    for name, field in sorted(flags.model.model_fields.items()):
        value = TypeAdapter(flag_annotation(flags.model, name)).json_schema()
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
        "examples": [{flags.seam.mode: Mode.CANARY.value, flags.seam.share: 5}],
    }


def flags_router(flags: ServiceFlags[Any], *, store: StoreOf, fallback: FallbackOf) -> APIRouter:
    """``/admin/flags``: the service's flags in ``store``, with its canary ``fallback``."""
    views = FlagViews(flags)
    router = APIRouter(prefix="/admin/flags", tags=["flags"])
    FlagStoreDep = Annotated[AdminFlagStore[Any], Depends(store)]

    class FlagChangesIn(BaseModel):
        """Flags to set (a value) or reset to their default (null), and why."""

        model_config = ConfigDict(extra="forbid")

        # A plain mapping at run time, so an unknown name is answered with invalid_flag
        # naming it; the document lists every flag with its type.
        changes: Annotated[
            dict[str, Any], Field(min_length=1), WithJsonSchema(_changes_schema(flags))
        ]
        reason: str = Field(
            min_length=1,
            max_length=MAX_REASON_LENGTH,
            pattern=_REASON_PATTERN,
            description="Why: recorded in the audit trail with the change (not only white space)",
        )

    @router.get(
        "",
        response_model=views.flags,
        responses=problem_responses(401, 403, 503),
        description=_GET.format(refresh=flags.refresh),
    )
    async def get_flags(_admin: AdminPrincipal, store: FlagStoreDep, request: Request) -> BaseModel:
        """The flags in force in this process, their defaults and overrides (admin only)."""
        return views.view(store, fallback(request))

    @router.patch(
        "",
        response_model=views.flags,
        responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
        description=_PATCH.format(
            mode=flags.seam.mode, unavailable=flags.unavailable.code.value, fallback=FALLBACK_ACTOR
        ),
    )
    async def change_flags(
        admin: AdminPrincipal, body: FlagChangesIn, store: FlagStoreDep, request: Request
    ) -> BaseModel:
        """Set or reset flags, all or none, audited with the caller and the reason (admin only)."""
        check_actor(admin.user_id)
        await store.change(body.changes, actor=admin.user_id, reason=body.reason)
        return views.view(store, fallback(request))

    @router.get(
        "/history",
        response_model=Page[FlagChangeView],
        responses=problem_responses(401, 403, 422, 503),
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

    return router
