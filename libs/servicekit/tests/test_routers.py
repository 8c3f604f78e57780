"""Router discovery mounts every module and refuses one without a router."""

from pathlib import Path

import pytest
from fastapi import FastAPI

from servicekit.routers import discover_routers, mount_routers

_GOOD = 'from fastapi import APIRouter\nrouter = APIRouter(prefix="/{name}")\n'


def _package(root: Path, name: str, modules: dict[str, str]) -> str:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in modules.items():
        (package / f"{module}.py").write_text(source)
    return name


def test_every_module_is_mounted_under_the_api_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = _package(
        tmp_path,
        "routers_ok",
        {"b": _GOOD.format(name="b"), "a": _GOOD.format(name="a")},
    )
    app = FastAPI()
    for router in discover_routers(package):
        router.add_api_route("/ping", lambda: "pong")

    mount_routers(app, package)

    assert list(app.openapi()["paths"]) == ["/api/v1/a/ping", "/api/v1/b/ping"]


def test_a_module_without_a_router_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = _package(tmp_path, "routers_bad", {"a": _GOOD.format(name="a"), "helpers": "X = 1\n"})

    with pytest.raises(TypeError, match=r"routers_bad\.helpers must expose an APIRouter"):
        discover_routers(package)
