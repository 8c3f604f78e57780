"""``orders flags show | set | history`` over APP_DATABASE_URL: the API's store, validation and audit."""

import sqlite3
from pathlib import Path

import pytest

from orders.entrypoints.cli import main

# The CLI configures the root logger; each test puts it back.
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, orders_db_url: str) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "development")
    monkeypatch.setenv("APP_DATABASE_URL", orders_db_url)
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "shadow")
    monkeypatch.setenv("USER", "dana")


def _audit(orders_db_url: str) -> list[tuple[object, ...]]:
    path = Path(orders_db_url.removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as connection:
        return list(
            connection.execute(
                "SELECT name, old_value, new_value, actor, reason, request_id"
                " FROM feature_flag_changes ORDER BY id"
            )
        )


def test_set_show_and_history(capsys: pytest.CaptureFixture[str], orders_db_url: str) -> None:
    assert main(["flags", "set", "products_client=canary", "canary_share=5", "--reason", "go"]) == 0
    capsys.readouterr()

    assert main(["flags", "show"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert main(["flags", "history", "--limit", "1"]) == 0
    history = capsys.readouterr().out.splitlines()

    assert any(
        line.startswith("canary_share")
        and " 5  (set by dana at " in line
        and ": go; default 0)" in line
        for line in shown
    )
    assert any(
        line.startswith("confirmation_email") and line.endswith("(default)") for line in shown
    )
    assert shown[-1] == "choosable products_client: canary, http, local, shadow"
    assert history[-1] == "1 of 2 change(s)"
    assert history[0].endswith('dana  products_client: null -> "canary"  (go)')
    assert _audit(orders_db_url) == [
        ("canary_share", None, "5", "dana", "go", None),
        ("products_client", None, '"canary"', "dana", "go", None),
    ]


def test_values_parse_as_json_into_each_flags_type(orders_db_url: str) -> None:
    assert (
        main(
            [
                "flags",
                "set",
                "canary_share=5",
                "confirmation_email=false",
                "products_client=canary",
                "shadow_sample_rate=1",
                "--reason",
                "r",
            ]
        )
        == 0
    )

    assert [(name, new) for name, _, new, *_ in _audit(orders_db_url)] == [
        ("canary_share", "5"),
        ("confirmation_email", "false"),
        ("products_client", '"canary"'),
        ("shadow_sample_rate", "1.0"),
    ]


def test_null_resets_and_actor_can_be_named(orders_db_url: str) -> None:
    assert main(["flags", "set", "max_items_per_order=3", "--reason", "r1"]) == 0
    assert (
        main(["flags", "set", "max_items_per_order=null", "--reason", "r2", "--actor", "ops"]) == 0
    )

    assert _audit(orders_db_url)[-1] == ("max_items_per_order", "3", None, "ops", "r2", None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["canary_share"], "expected NAME=VALUE"),
        (["=5"], "expected NAME=VALUE"),
        (["canary_share=1", "canary_share=2"], "canary_share is given twice"),
        (["new_checkout=true"], "new_checkout: unknown flag"),
        (["canary_share=150"], "canary_share: Input should be less than or equal to 100"),
        (["confirmation_email=perhaps"], "confirmation_email: Input should be a valid boolean"),
        # VALUE is JSON when it parses: a quoted number is a string, refused for an integer.
        (['canary_share="5"'], "canary_share: Input should be a valid integer"),
        (["canary_share=true"], "canary_share: Input should be a valid integer"),
        (["max_items_per_order=true"], "max_items_per_order: Input should be a valid integer"),
        (["confirmation_email=0"], "confirmation_email: Input should be a valid boolean"),
        (["confirmation_email=off"], "confirmation_email: Input should be a valid boolean"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, argv: list[str], message: str
) -> None:
    assert main(["flags", "set", *argv, "--reason", "r"]) == 2

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("orders flags: ")
    assert message in err[0]
    assert _audit(orders_db_url) == []


@pytest.mark.parametrize("reason", ["", "  ", "x" * 501])
def test_a_reason_is_required(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, reason: str
) -> None:
    assert main(["flags", "set", "canary_share=1", "--reason", reason]) == 2

    assert capsys.readouterr().err.count("\n") == 1
    assert _audit(orders_db_url) == []


def test_a_products_client_this_environment_did_not_build_is_refused(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "local")

    assert main(["flags", "set", "products_client=http", "--reason", "r"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert "products_client 'http' needs clients" in line
    assert "(choosable: local)" in line
    assert _audit(orders_db_url) == []


def test_history_limit_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flags", "history", "--limit", "0"]) == 2
    assert capsys.readouterr().err == "orders flags: --limit must be 1..100\n"


@pytest.mark.parametrize(
    "command", [["set", "canary_share=0"], ["reset-mode"]], ids=["set", "reset-mode"]
)
def test_the_fallbacks_name_is_reserved(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, command: list[str]
) -> None:
    argv = ["flags", *command, "--reason", "r", "--actor", "canary-fallback"]

    assert main(argv) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("orders flags: actor 'canary-fallback' is reserved for the canary")
    assert _audit(orders_db_url) == []


def test_reset_mode_resets_only_a_stored_products_client_other_than_the_start_up_mode(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["flags", "reset-mode", "--reason", "start"]) == 0
    assert "nothing stored; the start-up mode shadow is in force" in capsys.readouterr().out
    assert main(["flags", "set", "products_client=http", "--reason", "cut over"]) == 0
    capsys.readouterr()

    assert main(["flags", "reset-mode", "--reason", "start", "--actor", "just-dev"]) == 0

    assert 'reset the stored "http" (set by dana at ' in capsys.readouterr().out
    assert _audit(orders_db_url)[-1] == (
        "products_client",
        '"http"',
        None,
        "just-dev",
        "start",
        None,
    )


def test_reset_mode_also_clears_a_stored_mode_this_process_ignores(
    capsys: pytest.CaptureFixture[str], orders_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["flags", "set", "products_client=canary", "--reason", "canary"]) == 0
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "http")  # builds only http: canary is ignored

    assert main(["flags", "reset-mode", "--reason", "http stage"]) == 0

    assert "start-up mode http is in force" in capsys.readouterr().out
    assert _audit(orders_db_url)[-1][:3] == ("products_client", '"canary"', None)


def test_a_service_url_that_does_not_answer_refuses_a_change(
    capsys: pytest.CaptureFixture[str], orders_db_url: str
) -> None:
    argv = ["flags", "--service-url", "http://127.0.0.1:9", "set", "canary_share=1"]

    assert main([*argv, "--reason", "r"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert "orders at http://127.0.0.1:9 did not say which products clients it built" in line
    assert _audit(orders_db_url) == []


def test_without_app_environment_the_settings_problem_is_one_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_ENVIRONMENT")

    assert main(["flags", "show"]) == 2

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "the settings (APP_* environment variables) are not valid" in err
    assert "production verifies user tokens with the identity provider" in err
    assert "APP_ENVIRONMENT is not set" in err


def test_an_unmigrated_database_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")

    assert main(["flags", "show"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert "no such table: feature_flags" in line
    assert "is it migrated?" in line
