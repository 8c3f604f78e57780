"""Started the way the container starts it (``uvicorn --factory``), a service still logs JSON.

Regression: only the ``serve`` CLI configured logging, so under plain uvicorn
(the Docker entrypoint, ``just dev``) the services' INFO lines, and with them
the request ids, were dropped.
"""

import json
from typing import Any
from uuid import uuid4

import pytest

from tests.integration.stack import API, Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _records(process: ServiceProcess) -> list[dict[str, Any]]:
    records = []
    for line in process.read_log().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_plain_uvicorn_process_writes_json_logs_with_the_request_id(
    stack: Stack, shop: Shop
) -> None:
    env = {
        "APP_ENVIRONMENT": "testing",
        "APP_DATABASE_URL": stack.databases.products,
        **stack.secrets.auth_env(stack.identity_provider.url),
    }
    products = ServiceProcess("products", env=env, log_dir=stack.log_dir)
    stack.processes.append(products)
    products.start()
    product_id = shop.add_product(products, stock=1)
    request_id = f"it-log-{uuid4().hex}"

    adjusted = shop.http.post(
        f"{products.url}{API}/products/{product_id}/stock-adjustments",
        json={"delta": 2, "reason": "recount"},
        headers={**shop.auth("it-admin", "admin"), "X-Request-ID": request_id},
    )
    assert adjusted.status_code == 200, adjusted.text

    def adjustment_logged() -> dict[str, Any] | None:
        return next(
            (
                r
                for r in _records(products)
                if r.get("request_id") == request_id and r.get("message") == "stock adjusted"
            ),
            None,
        )

    record = eventually(adjustment_logged, timeout=5)
    assert record["service"] == "products"
    assert record["product_id"] == str(product_id)
