"""The embedded PostgreSQL's exit hook: a failing stop is one line, never a traceback."""

from pathlib import Path

import pytest

from servicekit.testing import stop_embedded


def test_a_failing_stop_is_one_line_and_the_folder_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "pgdata"
    (data / "base").mkdir(parents=True)

    def cleanup() -> None:
        raise OSError("pg_ctl: server does not shut down")

    stop_embedded(cleanup, data)

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"embedded PostgreSQL ({data}) did not stop cleanly: OSError(")
    assert not data.exists()


def test_a_clean_stop_says_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stopped: list[bool] = []

    stop_embedded(lambda: stopped.append(True), tmp_path)

    assert stopped == [True]
    assert capsys.readouterr().err == ""
