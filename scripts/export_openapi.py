"""Write both services' OpenAPI documents to ``libs/contracts/openapi`` (``just openapi``).

The documents come from ``create_app(...).openapi()``: nothing connects to a
database. Keys are sorted and the layout fixed so a regenerated file differs
from the committed one only where the API changed.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "libs" / "contracts" / "openapi"


def _products() -> dict[str, Any]:
    from products.config import Settings
    from products.main import create_app
    from servicekit.settings import Environment

    return create_app(Settings(environment=Environment.DEVELOPMENT)).openapi()


def _orders() -> dict[str, Any]:
    from orders.config import Settings
    from orders.main import create_app
    from servicekit.settings import Environment

    return create_app(Settings(environment=Environment.DEVELOPMENT)).openapi()


SERVICES: dict[str, Callable[[], dict[str, Any]]] = {"products": _products, "orders": _orders}


def render(document: dict[str, Any]) -> str:
    """The committed form of a document: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def current_document(service: str) -> dict[str, Any]:
    """The OpenAPI document the service's app serves right now."""
    return SERVICES[service]()


def committed_path(service: str) -> Path:
    """Where the service's document is committed."""
    return OPENAPI_DIR / f"{service}.json"


def main(argv: list[str]) -> int:
    """Write every service's document; prints what changed."""
    if argv:
        print("usage: python -m scripts.export_openapi", file=sys.stderr)
        return 2
    OPENAPI_DIR.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = committed_path(service)
        text = render(current_document(service))
        before = path.read_text() if path.exists() else None
        path.write_text(text)
        state = "unchanged" if before == text else "written"
        print(f"{path.relative_to(OPENAPI_DIR.parents[2])}: {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
