"""Run-time flags: a store changed while the service runs, its admin API and CLI, the canary's close (ADR 0018)."""

from cutover.flags.canary import close_canary, closing
from cutover.flags.errors import (
    FALLBACK_ACTOR,
    InvalidFlag,
    ModeUnavailable,
    ReservedActor,
    check_actor,
)
from cutover.flags.memory import InMemoryFlagStore
from cutover.flags.service import ServiceFlags
from cutover.flags.sql import SqlFlagStore
from cutover.flags.store import (
    AdminFlagStore,
    FlagChange,
    FlagChangeView,
    FlagOverride,
    FlagStore,
    FlagUpdates,
    StoredFlags,
)
from cutover.flags.tables import FlagTables, flag_tables
from cutover.flags.views import mode_report, mode_surprise

__all__ = [
    "FALLBACK_ACTOR",
    "AdminFlagStore",
    "FlagChange",
    "FlagChangeView",
    "FlagOverride",
    "FlagStore",
    "FlagTables",
    "FlagUpdates",
    "InMemoryFlagStore",
    "InvalidFlag",
    "ModeUnavailable",
    "ReservedActor",
    "ServiceFlags",
    "SqlFlagStore",
    "StoredFlags",
    "check_actor",
    "close_canary",
    "closing",
    "flag_tables",
    "mode_report",
    "mode_surprise",
]
