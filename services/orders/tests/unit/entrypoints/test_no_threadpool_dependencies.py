"""No route dependency of the orders app runs in FastAPI's threadpool (a thread hop per request)."""

from orders.config import Settings
from orders.main import create_app
from servicekit.routes import api_routes, sync_route_dependencies
from servicekit.settings import Environment


def test_every_route_dependency_is_async() -> None:
    app = create_app(Settings(environment=Environment.TESTING))
    assert list(api_routes(app.routes))
    assert sync_route_dependencies(app) == {}
