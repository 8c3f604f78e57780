"""``APP_PRODUCTS_CLIENT=local``: products' public in-process facade is the client (ADR 0004)."""

from products.facade import ProductsFacade

LocalProductClient = ProductsFacade
"""The ``ProductServiceClient`` of the monolith stage."""
