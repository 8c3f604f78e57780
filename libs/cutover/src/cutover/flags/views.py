"""The flags as the admin API shows them: what is in force, where from, and the audit trail."""

from datetime import datetime
from types import GenericAlias
from typing import Any

from pydantic import BaseModel, Field, create_model

from cutover.flags.service import ServiceFlags
from cutover.flags.store import AdminFlagStore, FlagChangeView
from seam import MODES, FallbackState, FlagNames, Mode

__all__ = ["FlagChangeView", "FlagOverrideView", "FlagViews", "mode_report", "mode_surprise"]


class FlagOverrideView(BaseModel):
    """A flag set at run time: its value, who set it, when and why."""

    value: Any = Field(description="The value in force (JSON)")
    updated_by: str
    updated_at: datetime
    reason: str


def _modes(one_side: bool) -> str:
    return " or ".join(m.value for m, spec in MODES.items() if (len(spec.needs) == 1) is one_side)


def _fallback_model(share: str) -> type[BaseModel]:
    class FallbackView(BaseModel):
        """The canary fallback in force: it set the canary share to 0 (or is writing it)."""

        at: datetime = Field(description="When it tripped")
        reason: str = Field(description="The http path's figures and the thresholds they breached")
        pending: bool = Field(
            description=f"true while its write of {share} 0 is not in the store yet: this"
            " process routes everyone to local although `effective` still shows the old share"
        )

    return FallbackView


def _flags_model(flags: ServiceFlags[Any], choosable: str, fallback: type[BaseModel]) -> Any:
    seam, settings = flags.seam, flags.settings
    environment = ", ".join((flags.features, settings.mode, settings.share, settings.rate))
    fields: dict[str, Any] = {
        "effective": (
            dict[str, Any],
            Field(
                description="The flags requests read now (while `fallback` is pending, this"
                f" process routes everyone to local whatever {seam.share} says)"
            ),
        ),
        "defaults": (
            dict[str, Any],
            Field(
                description=f"The environment's values ({environment}), in force where no"
                " override is"
            ),
        ),
        "overrides": (
            dict[str, FlagOverrideView],
            Field(description="Flags set at run time, by name"),
        ),
        "ignored": (
            dict[str, str],
            Field(
                description="Stored flags left out (their default applies) because the stored"
                " value no longer validates, and why"
            ),
        ),
        choosable: (
            GenericAlias(list, (flags.modes,)),
            Field(
                description=f"The {seam.mode} modes this process built the clients for"
                f" ({settings.mode}: {_modes(True)} allow only themselves,"
                f" {_modes(False)} all)"
            ),
        ),
        "fallback": (
            fallback | None,
            Field(
                default=None,
                description="The canary fallback, while it holds the share at 0 in this"
                f" process (tripped here and writing, or the last to set {seam.share}); null"
                f" otherwise. Only an operator's change of {seam.share} clears it",
            ),
        ),
    }
    return create_model(
        "FlagsView",
        __doc__="The flags in force in this process, and where each comes from.",
        **fields,
    )


def choosable_field(mode_flag: str) -> str:
    """The flags answer's field listing the choosable modes (the report reads it too)."""
    return f"choosable_{mode_flag}s"


class FlagViews:
    """The admin API's answers about one service's flags, their texts naming its flags."""

    def __init__(self, flags: ServiceFlags[Any]) -> None:
        self.choosable = choosable_field(flags.seam.mode)
        """The answer's field listing the choosable modes (``choosable_products_clients``)."""
        self.fallback: type[BaseModel] = _fallback_model(flags.seam.share)
        self.flags: type[BaseModel] = _flags_model(flags, self.choosable, self.fallback)

    def view(self, store: AdminFlagStore[Any], fallback: FallbackState | None = None) -> BaseModel:
        """What ``GET /admin/flags`` answers; ``fallback``: the canary fallback in force here."""
        return self.flags(
            fallback=None
            if fallback is None
            else self.fallback(at=fallback.at, reason=fallback.reason, pending=fallback.pending),
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
            **{self.choosable: [mode.value for mode in sorted(store.choosable)]},
        )


def mode_report(store: AdminFlagStore[Any], names: FlagNames) -> dict[str, Any]:
    """The mode in force, the start-up mode, and who moved it from there.

    ``/health/ready`` shows it under the boundary's check (so does ``just dev``'s
    banner): a stored override must never change the mode without the operator seeing it.
    """
    report: dict[str, Any] = {
        "mode": Mode(getattr(store.current(), names.mode)).value,
        "startup_mode": Mode(getattr(store.defaults, names.mode)).value,
        "choosable": sorted(mode.value for mode in store.choosable),
    }
    override = store.overrides().get(names.mode)
    if override is not None:
        report["mode_set"] = {
            "by": override.updated_by,
            "at": override.updated_at.isoformat(),
            "reason": override.reason,
        }
    ignored = store.ignored().get(names.mode)
    if ignored is not None:
        report["stored_mode_ignored"] = ignored
    return report


def mode_surprise(store: AdminFlagStore[Any], flags: ServiceFlags[Any]) -> str | None:
    """One line when a stored override puts another mode in force than the start-up one."""
    mode = flags.seam.mode
    current = Mode(getattr(store.current(), mode))
    startup = Mode(getattr(store.defaults, mode))
    override = store.overrides().get(mode)
    if current is startup or override is None:
        return None
    return (
        f"{mode} {current.value} is in force, not the start-up mode {startup.value}"
        f" ({flags.settings.mode}): set by {override.updated_by} at"
        f" {override.updated_at.isoformat()} ({override.reason});"
        f" `{flags.service} flags set {mode}=null` returns to the start-up mode"
    )
