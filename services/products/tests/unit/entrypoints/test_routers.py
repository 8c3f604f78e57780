"""Every router module is mounted, and every operation documents itself."""

from typing import Any

from products.config import Settings
from products.main import create_app
from servicekit.routers import discover_routers
from servicekit.settings import Environment


def test_every_router_module_is_discovered() -> None:
    tags = {
        tag for router in discover_routers("products.entrypoints.routers") for tag in router.tags
    }

    assert tags == {"products", "products: admin", "reservations (internal)"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(Settings(environment=Environment.TESTING)).openapi()
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1")
        for method, operation in item.items()
    ]


def test_every_api_operation_has_a_summary_a_response_schema_and_problem_responses() -> None:
    operations = _operations()

    assert sorted((method, path) for path, method, _ in operations) == [
        ("get", "/api/v1/products"),
        ("get", "/api/v1/products/{product_id}"),
        ("get", "/api/v1/products/{product_id}/stock"),
        ("get", "/api/v1/reservations/{reservation_id}"),
        ("patch", "/api/v1/products/{product_id}"),
        ("post", "/api/v1/products"),
        ("post", "/api/v1/products/bulk"),
        ("post", "/api/v1/products/lookup"),
        ("post", "/api/v1/products/{product_id}/stock-adjustments"),
        ("post", "/api/v1/reservation-releases"),
        ("post", "/api/v1/reservations"),
        ("post", "/api/v1/reservations/{reservation_id}/confirm"),
        ("post", "/api/v1/reservations/{reservation_id}/release"),
    ]
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("description"), where
        success = next(code for code in operation["responses"] if code.startswith("2"))
        assert "schema" in operation["responses"][success]["content"]["application/json"], where
        assert "422" in operation["responses"], where
        if "requestBody" in operation:
            assert {"400", "413"} <= set(operation["responses"]), where
            problem = operation["responses"]["400"]["content"]
            assert "application/problem+json" in problem, where
