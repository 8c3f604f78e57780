"""A test device: one user's successive calls, each routed as a request is (``Seam.choose``).

Every call asks the router afresh for the client that serves this user under
these flags, as each request of a canary user does at the entrypoint, so the
conformance suite runs through the router that orders ships.
"""

from orders.adapters.product_clients.factory import ProductsSeam
from orders.config import FeatureFlags
from orders.domain.product_client import ProductServiceClient
from tests.conformance.delegating import DelegatingProductClient


class RoutedProductClient(DelegatingProductClient):
    """Each call goes to ``router.choose(flags, user_id)``."""

    def __init__(self, router: ProductsSeam, flags: FeatureFlags, user_id: str) -> None:
        self._router = router
        self._flags = flags
        self._user_id = user_id

    def _client(self) -> ProductServiceClient:
        return self._router.choose(self._flags, self._user_id)
