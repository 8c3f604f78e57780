"""Shared setup of the contract tests."""

import os
from pathlib import Path

import pytest

# pact-python phones home on first use unless told not to; tests never should.
os.environ["PACT_DO_NOT_TRACK"] = "true"

_PACT_FOLDERS = ("consumer", "provider")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The pact tests share one file (the consumer tests write it, the provider's verify it).

    Under pytest-xdist (``--dist loadgroup``) they run on one worker, in collection
    order, as in a serial run; a second worker would empty the folder mid-write.
    """
    here = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.resolve().parent
        if folder.parent == here and folder.name in _PACT_FOLDERS:
            item.add_marker(pytest.mark.xdist_group("pact"))
