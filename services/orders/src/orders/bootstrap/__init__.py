"""One bootstrap builds the orders API, the worker and the commands (ADR 0027)."""

from orders.bootstrap.core import Runtime, bootstrap, open_engine
from orders.bootstrap.overrides import Overrides
from orders.bootstrap.ownership import migrate_databases, owns_products

__all__ = ["Overrides", "Runtime", "bootstrap", "migrate_databases", "open_engine", "owns_products"]
