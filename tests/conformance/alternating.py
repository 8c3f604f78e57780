"""A test device: one ``ProductServiceClient`` whose successive calls alternate between two.

Canary routing keeps one placement on one client, but the reconciler, a retried
request after a share change, or a user moved by a widened share can touch a
reservation through the other client. Running the whole conformance suite
through a client that hands every call to the other of two clients (local,
http) proves that a hold made through one is confirmed, released, replayed and
read through the other exactly as through one client alone.
"""

from collections import Counter

from orders.domain.product_client import ProductServiceClient
from tests.conformance.delegating import DelegatingProductClient


class AlternatingProductClient(DelegatingProductClient):
    """Call n goes to ``clients[n % 2]``; ``served`` counts calls per client name."""

    def __init__(
        self, first: tuple[str, ProductServiceClient], second: tuple[str, ProductServiceClient]
    ) -> None:
        self._clients = (first, second)
        self._calls = 0
        self.served: Counter[str] = Counter()

    def _client(self) -> ProductServiceClient:
        # Picked when the call starts, so concurrent calls alternate too.
        name, client = self._clients[self._calls % 2]
        self._calls += 1
        self.served[name] += 1
        return client
