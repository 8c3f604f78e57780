"""``orders flags show | set | history | reset-mode``: the admin API's store and audit from a shell (ADR 0018)."""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from orders.adapters.flags.sql import SqlFlagStore
from orders.application.flags import (
    InvalidFlag,
    ProductsClientUnavailable,
    ReservedActor,
    check_actor,
)
from orders.bootstrap import bootstrap
from orders.config import ProductsClientMode, Settings
from shop_contracts.limits import MAX_KEY_LENGTH, MAX_REASON_LENGTH
from shop_contracts.pagination import MAX_PAGE_SIZE


class BadInput(Exception):
    """What the operator typed cannot be applied; the message says why (exit status 2)."""


def add_flags_arguments(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``orders flags ...`` and its three subcommands."""
    flags = commands.add_parser(
        "flags", help="show, change (audited) or list the changes of the run-time flags"
    )
    flags.add_argument(
        "--service-url",
        metavar="URL",
        help="a running orders (e.g. http://127.0.0.1:8000): its /health/ready says which"
        " products clients it built and its start-up mode, which then replace APP_PRODUCTS_CLIENT",
    )
    actions = flags.add_subparsers(dest="flags_command", required=True)
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
        help="reset a stored products_client that differs from the start-up mode"
        " (APP_PRODUCTS_CLIENT); writes nothing when none does",
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


def _show(store: SqlFlagStore) -> None:
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
    print(f"choosable products_client: {', '.join(sorted(store.choosable))}")


async def _history(store: SqlFlagStore, limit: int) -> None:
    changes, total = await store.history(1, limit)
    for change in changes:
        request = f" request {change.request_id}" if change.request_id else ""
        print(
            f"{change.changed_at.isoformat()}  {change.actor}  {change.name}:"
            f" {_json(change.old_value)} -> {_json(change.new_value)}"
            f"  ({change.reason}){request}"
        )
    print(f"{len(changes)} of {total} change(s)")


async def _reset_mode(store: SqlFlagStore, actor: str, reason: str) -> None:
    startup = store.defaults.products_client
    override = store.overrides().get("products_client")
    ignored = store.ignored().get("products_client")
    if override is None and ignored is None:
        print(f"products_client: nothing stored; the start-up mode {startup.value} is in force")
        return
    if override is not None and override.value == startup.value:
        print(f"products_client: the stored value is the start-up mode {startup.value}")
        return
    if override is not None:
        was = (
            f"{_json(override.value)} (set by {override.updated_by} at"
            f" {override.updated_at.isoformat()}: {override.reason})"
        )
    else:
        was = f"value ignored here ({ignored})"
    await store.change({"products_client": None}, actor=actor, reason=reason)
    print(f"products_client: reset the stored {was}; the start-up mode {startup.value} is in force")


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        store = (await bootstrap(settings, stack, pool_size=1)).flags
        if args.flags_command == "show":
            _show(store)
        elif args.flags_command == "history":
            await _history(store, args.limit)
        elif args.flags_command == "reset-mode":
            await _reset_mode(store, args.actor, args.reason)
        else:
            await store.change(
                parse_assignments(args.assignments), actor=args.actor, reason=args.reason
            )
            _show(store)


def _running_mode(url: str) -> ProductsClientMode | None:
    """The start-up mode of the orders at ``url`` (None when it does not say)."""
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
        return ProductsClientMode(body["checks"]["products"]["startup_mode"])
    except (ValueError, KeyError, TypeError):
        return None


def _json_or_none(error: urllib.error.HTTPError) -> Any:
    try:
        return json.load(error)
    except ValueError:
        return None


def _as_running(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with the running orders' start-up mode, when ``--service-url`` names one."""
    if not args.service_url:
        return settings
    mode = _running_mode(args.service_url)
    if mode is None:
        where = f"orders at {args.service_url} did not say which products clients it built"
        if args.flags_command in ("set", "reset-mode"):
            raise BadInput(f"{where} (is it running and ready? `just dev` starts it)")
        print(
            f"orders flags: {where}; showing APP_PRODUCTS_CLIENT="
            f"{settings.products_client.value}'s defaults",
            file=sys.stderr,
        )
        return settings
    return settings.model_copy(update={"products_client": mode})


def _check(args: argparse.Namespace) -> None:
    if args.flags_command == "history" and not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise BadInput(f"--limit must be 1..{MAX_PAGE_SIZE}")
    if args.flags_command == "reset-mode" and not args.reason.strip():
        raise BadInput("--reason must not be blank")
    if args.flags_command == "set":
        if not args.reason.strip() or len(args.reason) > MAX_REASON_LENGTH or "\x00" in args.reason:
            raise BadInput(f"--reason must be 1..{MAX_REASON_LENGTH} characters, not blank")
        if not args.actor.strip() or len(args.actor) > MAX_KEY_LENGTH:
            raise BadInput(f"--actor must be 1..{MAX_KEY_LENGTH} characters")
        check_actor(args.actor)
        parse_assignments(args.assignments)


def run_flags(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``orders flags ...``; 0 on success, 2 (one line on stderr) on bad input."""
    try:
        _check(args)
        asyncio.run(_run(_as_running(settings, args), args))
    except (BadInput, InvalidFlag, ProductsClientUnavailable, ReservedActor) as error:
        print(f"orders flags: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        # A fresh clone before `just dev`: no database yet, or one never migrated.
        where = make_url(settings.database_url.get_secret_value()).render_as_string()
        print(
            f"orders flags: cannot read the flags in {where}"
            f" ({type(error.orig).__name__}: {str(error.orig).splitlines()[0]});"
            " is it migrated? (`orders migrate`; `just dev` migrates its databases)",
            file=sys.stderr,
        )
        return 2
    return 0
