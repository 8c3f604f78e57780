"""The flags as the admin API shows them: what is in force, where from, and the audit trail."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from orders.application.flags import AdminFlagStore, FlagChangeView
from orders.config import ProductsClientMode

__all__ = [
    "FallbackView",
    "FlagChangeView",
    "FlagOverrideView",
    "FlagsView",
    "flags_view",
    "mode_report",
    "mode_surprise",
]


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


def mode_report(store: AdminFlagStore) -> dict[str, Any]:
    """The products-client mode in force, the start-up mode, and who moved it from there.

    ``/health/ready`` shows it under ``products`` (so does ``just dev``'s banner): a
    stored override must never change the mode without the operator seeing it.
    """
    report: dict[str, Any] = {
        "mode": store.current().products_client.value,
        "startup_mode": store.defaults.products_client.value,
        "choosable": sorted(mode.value for mode in store.choosable),
    }
    override = store.overrides().get("products_client")
    if override is not None:
        report["mode_set"] = {
            "by": override.updated_by,
            "at": override.updated_at.isoformat(),
            "reason": override.reason,
        }
    ignored = store.ignored().get("products_client")
    if ignored is not None:
        report["stored_mode_ignored"] = ignored
    return report


def mode_surprise(store: AdminFlagStore) -> str | None:
    """One line when a stored override puts another mode in force than the start-up one."""
    current = store.current().products_client
    startup = store.defaults.products_client
    override = store.overrides().get("products_client")
    if current is startup or override is None:
        return None
    return (
        f"products_client {current.value} is in force, not the start-up mode {startup.value}"
        f" (APP_PRODUCTS_CLIENT): set by {override.updated_by} at"
        f" {override.updated_at.isoformat()} ({override.reason});"
        " `orders flags set products_client=null` returns to the start-up mode"
    )
