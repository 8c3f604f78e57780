"""``<service> flags show | set | history | reset-mode``: the admin API's store and audit from a shell."""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cutover.flags.errors import InvalidFlag, ModeUnavailable, ReservedActor, check_actor
from cutover.flags.service import F, ServiceFlags
from cutover.flags.sql import SqlFlagStore
from seam import Mode
from shop_contracts.limits import MAX_KEY_LENGTH, MAX_REASON_LENGTH
from shop_contracts.pagination import MAX_PAGE_SIZE


class BadInput(Exception):
    """What the operator typed cannot be applied; the message says why (exit status 2)."""


@dataclass(frozen=True, slots=True)
class FlagsCommand(Generic[F]):
    """What ``<service> flags`` runs on: the service's flags, its start-up mode, its store."""

    flags: ServiceFlags[F]
    startup: Mode
    """The start-up mode the service's settings give (``APP_PRODUCTS_CLIENT``)."""
    database_url: str
    """Where the flags are stored (named, without its password, when it cannot be read)."""
    open_store: Callable[[AsyncExitStack, Mode], Awaitable[SqlFlagStore[F]]]
    """The store, read, of a process started in the given mode; closed via the stack."""


def add_flags_arguments(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    flags: ServiceFlags[Any],
    *,
    example_url: str,
) -> None:
    """``<service> flags ...`` and its subcommands."""
    parser = commands.add_parser(
        "flags", help="show, change (audited) or list the changes of the run-time flags"
    )
    parser.add_argument(
        "--service-url",
        metavar="URL",
        help=f"a running {flags.service} (e.g. {example_url}): its /health/ready says which"
        f" {flags.boundary} clients it built and its start-up mode, which then replace"
        f" {flags.settings.mode}",
    )
    actions = parser.add_subparsers(dest="flags_command", required=True)
    actions.add_parser("show", help="the flags in force, their defaults and overrides")
    change = actions.add_parser(
        "set", help="set flags (VALUE is JSON when it parses, else a string; null resets)"
    )
    change.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    change.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    change.add_argument(
        "--actor",
        default=os.environ.get("USER") or "cli",
        help="who (recorded in the audit trail; default: $USER or 'cli'; canary-fallback is"
        " reserved)",
    )
    reset = actions.add_parser(
        "reset-mode",
        help=f"reset a stored {flags.seam.mode} that differs from the start-up mode"
        f" ({flags.settings.mode}); writes nothing when none does",
    )
    reset.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    reset.add_argument("--actor", default=os.environ.get("USER") or "cli", help="who")
    history = actions.add_parser("history", help="the latest changes, newest first")
    history.add_argument(
        "--limit",
        type=int,
        default=20,
        help=f"how many changes (1..{MAX_PAGE_SIZE}, default 20)",
    )


def parse_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs: VALUE as JSON when it parses (``null`` resets), else the string."""
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"expected NAME=VALUE, got {assignment!r}")
        if name in changes:
            raise BadInput(f"{name} is given twice")
        try:
            changes[name] = json.loads(raw)
        except ValueError:
            changes[name] = raw
    return changes


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def _show(store: SqlFlagStore[Any], mode: str) -> None:
    current = store.current().model_dump(mode="json")
    defaults = store.defaults.model_dump(mode="json")
    overrides = store.overrides()
    width = max(len(name) for name in current)
    for name in sorted(current):
        line = f"{name:<{width}}  {_json(current[name])}"
        override = overrides.get(name)
        if override is None:
            line += "  (default)"
        else:
            line += (
                f"  (set by {override.updated_by} at {override.updated_at.isoformat()}:"
                f" {override.reason}; default {_json(defaults[name])})"
            )
        print(line)
    for name, problem in sorted(store.ignored().items()):
        print(f"ignored stored {name}: {problem}")
    print(f"choosable {mode}: {', '.join(sorted(store.choosable))}")


async def _history(store: SqlFlagStore[Any], limit: int) -> None:
    changes, total = await store.history(1, limit)
    for change in changes:
        request = f" request {change.request_id}" if change.request_id else ""
        print(
            f"{change.changed_at.isoformat()}  {change.actor}  {change.name}:"
            f" {_json(change.old_value)} -> {_json(change.new_value)}"
            f"  ({change.reason}){request}"
        )
    print(f"{len(changes)} of {total} change(s)")


async def _reset_mode(store: SqlFlagStore[Any], mode: str, actor: str, reason: str) -> None:
    startup = Mode(getattr(store.defaults, mode))
    override = store.overrides().get(mode)
    ignored = store.ignored().get(mode)
    if override is None and ignored is None:
        print(f"{mode}: nothing stored; the start-up mode {startup.value} is in force")
        return
    if override is not None and override.value == startup.value:
        print(f"{mode}: the stored value is the start-up mode {startup.value}")
        return
    if override is not None:
        was = (
            f"{_json(override.value)} (set by {override.updated_by} at"
            f" {override.updated_at.isoformat()}: {override.reason})"
        )
    else:
        was = f"value ignored here ({ignored})"
    await store.change({mode: None}, actor=actor, reason=reason)
    print(f"{mode}: reset the stored {was}; the start-up mode {startup.value} is in force")


async def _run(command: FlagsCommand[Any], startup: Mode, args: argparse.Namespace) -> None:
    mode = command.flags.seam.mode
    async with AsyncExitStack() as stack:
        store = await command.open_store(stack, startup)
        if args.flags_command == "show":
            _show(store, mode)
        elif args.flags_command == "history":
            await _history(store, args.limit)
        elif args.flags_command == "reset-mode":
            await _reset_mode(store, mode, args.actor, args.reason)
        else:
            await store.change(
                parse_assignments(args.assignments), actor=args.actor, reason=args.reason
            )
            _show(store, mode)


def _running_mode(url: str, boundary: str) -> Mode | None:
    """The start-up mode the service at ``url`` reports (None when it does not say)."""
    ready = f"{url.rstrip('/')}/health/ready"
    try:
        # urllib, not httpx: httpx logs each request at INFO into the command's output.
        with urllib.request.urlopen(ready, timeout=5.0) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as error:  # a 503 still carries the checks
        body = _json_or_none(error)
    except (OSError, ValueError):
        return None
    try:
        return Mode(body["checks"][boundary]["startup_mode"])
    except (ValueError, KeyError, TypeError):
        return None


def _json_or_none(error: urllib.error.HTTPError) -> Any:
    try:
        return json.load(error)
    except ValueError:
        return None


def _startup(command: FlagsCommand[Any], args: argparse.Namespace) -> Mode:
    """The start-up mode of the running service ``--service-url`` names, else the settings' one."""
    flags = command.flags
    if not args.service_url:
        return command.startup
    mode = _running_mode(args.service_url, flags.boundary)
    if mode is None:
        where = (
            f"{flags.service} at {args.service_url} did not say which {flags.boundary} clients"
            " it built"
        )
        if args.flags_command in ("set", "reset-mode"):
            raise BadInput(f"{where} (is it running and ready? `just dev` starts it)")
        print(
            f"{flags.service} flags: {where}; showing {flags.settings.mode}="
            f"{command.startup.value}'s defaults",
            file=sys.stderr,
        )
        return command.startup
    return mode


def _check(args: argparse.Namespace) -> None:
    if args.flags_command == "history" and not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise BadInput(f"--limit must be 1..{MAX_PAGE_SIZE}")
    if args.flags_command in ("set", "reset-mode"):
        # Both write the audit trail: the same rules for who and why (ADR 0018).
        if not args.reason.strip() or len(args.reason) > MAX_REASON_LENGTH or "\x00" in args.reason:
            raise BadInput(f"--reason must be 1..{MAX_REASON_LENGTH} characters, not blank")
        if not args.actor.strip() or len(args.actor) > MAX_KEY_LENGTH:
            raise BadInput(f"--actor must be 1..{MAX_KEY_LENGTH} characters")
        check_actor(args.actor)
    if args.flags_command == "set":
        parse_assignments(args.assignments)


def run_flags(command: FlagsCommand[Any], args: argparse.Namespace) -> int:
    """Run ``<service> flags ...``; 0 on success, 2 (one line on stderr) on bad input."""
    service = command.flags.service
    try:
        _check(args)
        asyncio.run(_run(command, _startup(command, args), args))
    except (BadInput, InvalidFlag, ModeUnavailable, ReservedActor) as error:
        print(f"{service} flags: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        # A fresh clone before `just dev`: no database yet, or one never migrated.
        where = make_url(command.database_url).render_as_string()
        print(
            f"{service} flags: cannot read the flags in {where}"
            f" ({type(error.orig).__name__}: {str(error.orig).splitlines()[0]});"
            f" is it migrated? (`{service} migrate`; `just dev` migrates its databases)",
            file=sys.stderr,
        )
        return 2
    return 0
