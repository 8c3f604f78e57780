"""``just token``: a JWT for a user, and ``--help`` that answers instead of failing."""

import pytest

from servicekit.token import main


def test_help_prints_the_usage_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    assert capsys.readouterr().out.startswith("usage: python -m servicekit.token USER_ID")


def test_no_user_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2

    assert "usage:" in capsys.readouterr().err


def test_a_user_gets_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "development")

    assert main(["alice", "admin"]) == 0

    assert capsys.readouterr().out.count(".") == 2  # header.payload.signature
