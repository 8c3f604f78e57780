"""``APP_PRODUCTS_CLIENT=local``: products' public in-process API is the client.

``ProductsFacade`` already speaks the contract DTOs and raises the contract
exceptions (a products database outage is ``ProductsUnavailable``, classified
once in ``servicekit.db``), so the monolith-stage client needs no code of its
own: orders knows nothing of the storage behind the facade.
"""

from products.facade import ProductsFacade

LocalProductClient = ProductsFacade
"""The ``ProductServiceClient`` of the monolith stage."""
