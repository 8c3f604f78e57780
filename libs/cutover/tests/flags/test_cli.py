"""``<service> flags`` over any service's store: its names in every line, exit 2 on bad input."""

import argparse
import sqlite3
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import SqlFlagStore
from cutover.flags.cli import FlagsCommand, add_flags_arguments, run_flags
from libs.cutover.tests.flags.example import DEFAULTS, SHOP_FLAGS, TABLES, InventoryMode, ShopFlags
from seam import Mode, choosable
from servicekit.db import create_engine

Run = Callable[..., int]


@pytest.fixture
def run(engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``shop flags ARGS`` over the test's database; the settings' start-up mode is local."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'flags.db'}"
    monkeypatch.setenv("USER", "dana")

    def run(*argv: str, database_url: str = url) -> int:
        async def open_store(stack: AsyncExitStack, startup: Mode) -> SqlFlagStore[ShopFlags]:
            # The command's own engine: asyncio.run gives it a loop of its own.
            own = create_engine(database_url)
            stack.push_async_callback(own.dispose)
            defaults = DEFAULTS.model_copy(update={"inventory_client": InventoryMode(startup)})
            store = SqlFlagStore(own, TABLES, SHOP_FLAGS, defaults, choosable=choosable(startup))
            await store.refresh()
            return store

        parser = argparse.ArgumentParser(prog="shop")
        add_flags_arguments(
            parser.add_subparsers(dest="command"), SHOP_FLAGS, example_url="http://shop"
        )
        command = FlagsCommand(SHOP_FLAGS, Mode.LOCAL, database_url, open_store)
        return run_flags(command, parser.parse_args(["flags", *argv]))

    return run


def test_set_show_and_history_name_the_services_mode_flag(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("set", "inventory_share=5", "batch_size=20", "--reason", "go") == 0
    capsys.readouterr()

    assert run("show") == 0
    shown = capsys.readouterr().out.splitlines()
    assert run("history", "--limit", "1") == 0
    history = capsys.readouterr().out.splitlines()

    assert shown[-1] == "choosable inventory_client: local"
    assert any(line.startswith("inventory_share   5  (set by dana at ") for line in shown)
    assert history[-1] == "1 of 2 change(s)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set", "batch_size=true", "--reason", "r"], "shop flags: batch_size: Input should be"),
        (["set", "inventory_client=http", "--reason", "r"], "shop flags: inventory_client 'http'"),
        (["set", "x=1", "--reason", "r", "--actor", "canary-fallback"], "shop flags: actor"),
        (["reset-mode", "--reason", "r", "--actor", "canary-fallback"], "shop flags: actor"),
        (["reset-mode", "--reason", "r", "--actor", "a" * 201], "shop flags: --actor must be"),
        (["reset-mode", "--reason", " "], "shop flags: --reason must be"),
        (["history", "--limit", "0"], "shop flags: --limit must be 1..100"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    run: Run, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(*argv) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(message)


def test_reset_mode_resets_a_stored_mode_this_process_cannot_take(
    run: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Set while the deployment ran canary; this process started in local builds no http client.
    with sqlite3.connect(tmp_path / "flags.db") as connection:
        connection.execute(
            "INSERT INTO feature_flags VALUES"
            " ('inventory_client', '\"canary\"', 'ops', '2026-12-02 09:00:00', 'canary')"
        )

    assert run("reset-mode", "--reason", "stage") == 0
    assert run("reset-mode", "--reason", "again") == 0

    assert capsys.readouterr().out.splitlines() == [
        "inventory_client: reset the stored value ignored here (canary is not built in this"
        " process (choosable: local)); the start-up mode local is in force",
        "inventory_client: nothing stored; the start-up mode local is in force",
    ]


def test_a_service_that_does_not_answer_refuses_a_change(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--service-url", "http://127.0.0.1:9", "set", "batch_size=2", "--reason", "r") == 2

    [line] = capsys.readouterr().err.splitlines()
    assert "shop at http://127.0.0.1:9 did not say which inventory clients it built" in line


def test_a_database_without_the_tables_is_one_line(
    run: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run("show", database_url=f"sqlite+aiosqlite:///{tmp_path / 'none.db'}") == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("shop flags: cannot read the flags in sqlite+aiosqlite:///")
    assert "no such table: feature_flags" in line
    assert line.endswith("is it migrated? (`shop migrate`; `just dev` migrates its databases)")
