"""The flags port: what a request reads, and how an operator (or the fallback) changes it.

``current()`` is synchronous and cheap: implementations keep a snapshot and
refresh it in the background, so reading the flags costs a request nothing.
``change`` writes, records who changed what and why, and makes the new
snapshot current in this process at once; other processes see it within
their refresh interval.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from orders.config import FeatureFlags, ProductsClientMode
from shop_contracts.errors import DomainError, ErrorCode

FLAG_NAMES = frozenset(FeatureFlags.model_fields)
FALLBACK_ACTOR = "canary-fallback"
"""The canary fallback's name in the audit trail; no person or tool may change flags under it."""
CANARY_FLAGS = ("canary_share", "products_client")
"""The flags the canary fallback writes: an operator's change to either ends its say."""


def flag_annotation(name: str) -> Any:
    """The type of flag ``name`` with its bounds, as ``FeatureFlags`` declares it."""
    field = FeatureFlags.model_fields[name]
    return Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation


_FLAG_TYPES = {name: TypeAdapter(flag_annotation(name)) for name in sorted(FLAG_NAMES)}
_INTEGER_FLAGS = frozenset(n for n, f in FeatureFlags.model_fields.items() if f.annotation is int)


@dataclass(frozen=True, slots=True)
class FlagOverride:
    """A flag an operator (or the fallback) set, replacing its environment default."""

    value: object
    updated_by: str
    updated_at: datetime
    reason: str


class FlagStore(Protocol):
    """Where the run-time flags live."""

    def current(self) -> FeatureFlags:
        """The flags in force now: the overrides over the environment defaults."""
        ...

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time, by name, with who set them, when and why."""
        ...

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        """Set (or, with ``None``, reset to the default) each named flag; audited."""
        ...

    async def close_canary(self, *, actor: str, reason: str, tripped_at: datetime) -> bool:
        """The canary fallback's write, decided under the store's write lock.

        In one change: unless someone other than ``actor`` changed ``canary_share``
        or ``products_client`` after ``tripped_at`` (an operator took over: the
        write would override them), set ``canary_share`` to 0 and, when the
        stored ``products_client`` is ``http``, ``products_client`` to ``canary``;
        audited as ``actor``. True when the store has the fallback's write
        (written now, or already by an earlier attempt); False when skipped. A
        write that committed counts even if re-reading the flags afterwards fails.
        """
        ...


class AdminFlagStore(FlagStore, Protocol):
    """A flag store an operator administers: its defaults, what it ignored, its history."""

    @property
    def defaults(self) -> FeatureFlags:
        """The environment's flags, in force where nothing is set."""
        ...

    @property
    def choosable(self) -> frozenset[ProductsClientMode]:
        """The products_client modes a change may choose in this process."""
        ...

    def ignored(self) -> Mapping[str, str]:
        """Stored flags left out because their value no longer validates, and why."""
        ...

    async def history(self, page: int, page_size: int) -> tuple[list["FlagChangeView"], int]:
        """One page of the audit trail, newest first, and the number of changes."""
        ...


def flag_value(name: str, value: object) -> Any:
    """``value`` as flag ``name`` holds it, checked as JSON with no coercion.

    Strict, so a value of another type is refused rather than converted
    (``true`` is not the integer 1, ``"5"`` not 5, ``0`` or ``"off"`` not
    false, ``5.5`` not an integer); JSON's (and JSON Schema's) rules otherwise:
    a number is a number whatever its spelling, so a float flag takes ``1`` as
    1.0 and an integer flag takes ``5.0`` as 5 (the documented schema says
    ``integer``, which ``5.0`` is); an enum flag takes its string value.
    Raises ``InvalidFlag`` for an unknown name or a value the flag cannot take.
    """
    if name not in FLAG_NAMES:
        raise InvalidFlag(name, f"unknown flag (known: {', '.join(sorted(FLAG_NAMES))})")
    if type(value) is float and value.is_integer() and name in _INTEGER_FLAGS:
        value = int(value)
    try:
        document = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidFlag(name, "not a JSON value (NaN and infinities are not JSON)") from None
    try:
        return _FLAG_TYPES[name].validate_json(document, strict=True)
    except ValidationError as error:
        raise InvalidFlag(name, _problem(error)) from None


def apply_overrides(defaults: FeatureFlags, values: Mapping[str, object]) -> FeatureFlags:
    """``defaults`` with ``values`` applied, each checked by ``flag_value``.

    Raises ``InvalidFlag`` (a ``ValueError``) for an unknown flag or a bad value.
    """
    checked = {name: flag_value(name, values[name]) for name in sorted(values)}
    return defaults.model_copy(update=checked)


class InvalidFlag(DomainError, ValueError):
    """A change names an unknown flag or gives one a value it cannot take."""

    code = ErrorCode.INVALID_FLAG
    status = 422
    title = "Invalid flag"

    def __init__(self, flag: str, problem: str) -> None:
        self.flag = flag
        self.problem = problem
        super().__init__(f"{flag}: {problem}")

    def extensions(self) -> dict[str, Any]:
        # ``name`` is the value's path in the request body, as for every other
        # body validation problem (``changes`` of ``PATCH /admin/flags``).
        return {
            "flag": self.flag,
            "invalid_params": [{"name": f"changes.{self.flag}", "reason": self.problem}],
        }


class ProductsClientUnavailable(DomainError):
    """The products_client flag names a mode whose clients this process did not build."""

    code = ErrorCode.PRODUCTS_CLIENT_UNAVAILABLE
    status = 409
    title = "Products client not available"

    def __init__(self, mode: ProductsClientMode, choosable: frozenset[ProductsClientMode]) -> None:
        self.mode = mode
        self.choosable = sorted(choosable)
        super().__init__(
            f"products_client {mode.value!r} needs clients this deployment does not build"
            f" (choosable: {', '.join(self.choosable)}); change APP_PRODUCTS_CLIENT to"
            " shadow or canary first"
        )

    def extensions(self) -> dict[str, Any]:
        return {"flag": "products_client", "choosable": [m.value for m in self.choosable]}


class ReservedActor(DomainError):
    """A change made under the canary fallback's name, which only the fallback may use."""

    code = ErrorCode.RESERVED_ACTOR
    status = 422
    title = "Reserved actor"

    def __init__(self, actor: str) -> None:
        self.actor = actor
        super().__init__(
            f"actor {actor!r} is reserved for the canary fallback (readiness and the admin"
            " view treat its changes as the fallback holding the canary at 0); change flags"
            " under your own name"
        )

    def extensions(self) -> dict[str, Any]:
        return {"actor": self.actor}


def check_actor(actor: str) -> None:
    """Refuse (``ReservedActor``) a person or tool changing flags as the canary fallback."""
    if actor.strip().casefold() == FALLBACK_ACTOR:
        raise ReservedActor(actor)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return str(first.get("msg", "invalid value"))


def validate_change(
    defaults: FeatureFlags,
    updates: Mapping[str, object | None],
    *,
    choosable: frozenset[ProductsClientMode] = frozenset(ProductsClientMode),
) -> dict[str, Any]:
    """``updates`` as they are stored: each value checked alone (``flag_value``), in JSON form.

    ``None`` (reset to the default) stays ``None``. Raises ``InvalidFlag`` for an
    unknown name or a bad value and ``ProductsClientUnavailable`` for a mode whose
    clients were not built; nothing is changed then.
    """
    stored: dict[str, Any] = {}
    for name in sorted(updates):
        value = updates[name]
        if value is None:
            if name not in FLAG_NAMES:
                flag_value(name, value)  # raises: unknown flag
            stored[name] = None
            continue
        flags = apply_overrides(defaults, {name: value})
        if name == "products_client" and flags.products_client not in choosable:
            raise ProductsClientUnavailable(flags.products_client, choosable)
        stored[name] = flags.model_dump(mode="json")[name]
    return stored


def effective_flags(
    defaults: FeatureFlags,
    values: Mapping[str, object],
    *,
    choosable: frozenset[ProductsClientMode] = frozenset(ProductsClientMode),
) -> tuple[FeatureFlags, dict[str, str]]:
    """``defaults`` with every valid value applied, and why each other one was left out.

    Each value is checked on its own and as strictly as a change (``flag_value``),
    so one bad stored value never hides the others; a value that no longer
    validates (a limit lowered, a flag removed, a row written by hand with a
    value of another type, a products_client whose clients this process did not
    build) leaves its flag at the default.
    """
    applied: dict[str, object] = {}
    ignored: dict[str, str] = {}
    for name in sorted(values):
        try:
            flags = apply_overrides(defaults, {name: values[name]})
        except InvalidFlag as error:
            ignored[name] = error.problem
        else:
            if name == "products_client" and flags.products_client not in choosable:
                ignored[name] = (
                    f"{flags.products_client.value} is not built in this process"
                    f" (choosable: {', '.join(sorted(choosable))})"
                )
            else:
                applied[name] = values[name]
    return apply_overrides(defaults, applied), ignored


class FlagOverrideView(BaseModel):
    """A flag set at run time: its value, who set it, when and why."""

    value: Any = Field(description="The value in force (JSON)")
    updated_by: str
    updated_at: datetime
    reason: str


class FallbackView(BaseModel):
    """The canary fallback in force: it set the canary share to 0 (or is writing it)."""

    at: datetime = Field(description="When it tripped")
    reason: str = Field(description="The http path's figures and the thresholds they breached")
    pending: bool = Field(
        description="true while its write of canary_share 0 is not in the store yet: this"
        " process routes everyone to local although `effective` still shows the old share"
    )


class FlagsView(BaseModel):
    """The flags in force in this process, and where each comes from."""

    effective: dict[str, Any] = Field(
        description="The flags requests read now (while `fallback` is pending, this process"
        " routes everyone to local whatever canary_share says)"
    )
    defaults: dict[str, Any] = Field(
        description="The environment's values (FEATURE_*, APP_PRODUCTS_CLIENT, APP_CANARY_SHARE,"
        " APP_SHADOW_SAMPLE_RATE), in force where no override is"
    )
    overrides: dict[str, FlagOverrideView] = Field(description="Flags set at run time, by name")
    ignored: dict[str, str] = Field(
        description="Stored flags left out (their default applies) because the stored value"
        " no longer validates, and why"
    )
    choosable_products_clients: list[ProductsClientMode] = Field(
        description="The products_client modes this process built the clients for"
        " (APP_PRODUCTS_CLIENT: local or http allow only themselves, shadow or canary all)"
    )
    fallback: FallbackView | None = Field(
        default=None,
        description="The canary fallback, while it holds the share at 0 in this process"
        " (tripped here and writing, or the last to set canary_share); null otherwise."
        " Only an operator's change of canary_share clears it",
    )


def flags_view(store: AdminFlagStore, fallback: FallbackView | None = None) -> FlagsView:
    """What ``GET /admin/flags`` answers."""
    return FlagsView(
        fallback=fallback,
        effective=store.current().model_dump(mode="json"),
        defaults=store.defaults.model_dump(mode="json"),
        overrides={
            name: FlagOverrideView(
                value=override.value,
                updated_by=override.updated_by,
                updated_at=override.updated_at,
                reason=override.reason,
            )
            for name, override in sorted(store.overrides().items())
        },
        ignored=dict(store.ignored()),
        choosable_products_clients=sorted(store.choosable),
    )


class FlagChangeView(BaseModel):
    """One audited change of one flag."""

    name: str
    old_value: Any = Field(description="The override before (JSON); null: the default was in force")
    new_value: Any = Field(description="The override after (JSON); null: reset to the default")
    actor: str = Field(
        description="Who: the admin's user id, the CLI's --actor, or canary-fallback"
    )
    reason: str
    changed_at: datetime
    request_id: str | None = Field(description="The API request that made the change, if any")
