"""Suite-wide hooks: pytest-xdist's groups (``just test`` runs ``--dist loadgroup``)."""

import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name each grouped test ``<nodeid>@<group>``, which ``--dist loadgroup`` schedules by.

    pytest-xdist 3.8 does so by assigning ``item._nodeid``, which pytest 9 no longer
    reads (a node's id is ``item._id``): the group would silently spread over every
    worker. Harmless once xdist names them itself (the id then has its ``@``).
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or "@" in item.nodeid:
            continue
        group = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
        item._id = NodeId.parse(f"{item.nodeid}@{group}")
