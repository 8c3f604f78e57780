"""The embedded PostgreSQL's exit hook: a failing stop is one line, never a traceback."""

import io
import logging
from collections.abc import Iterator
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


@pytest.fixture
def closed_stream_handler() -> Iterator[None]:
    """What exit looks like: a handler a test configured, on a stream already closed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    stream.close()
    yield
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("closed_stream_handler")
def test_the_servers_own_logging_at_exit_prints_no_logging_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cleanup() -> None:
        logging.getLogger("pgserver").info("cleaning last handle for server")

    stop_embedded(cleanup, tmp_path)

    assert capsys.readouterr().err == ""
    assert logging.getLogger("pgserver").isEnabledFor(logging.INFO)  # switched back on
