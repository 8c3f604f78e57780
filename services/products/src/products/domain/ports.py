"""Repository ports the application layer needs; adapters implement them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from products.domain.product import Product
from products.domain.reservation import HoldRequest, Reservation, ReservationStatus


class ProductRepositoryPort(Protocol):
    """Catalogue storage. Stock changes are conditional so they are safe under concurrency."""

    async def get(self, product_id: UUID) -> Product | None:
        """One product, or ``None``."""
        ...

    async def get_many(self, product_ids: Sequence[UUID]) -> dict[UUID, Product]:
        """The products that exist among ``product_ids``, by id."""
        ...

    async def add(self, product: Product) -> bool:
        """Insert a product; ``False`` (and nothing written) if its SKU is taken."""
        ...

    async def update(self, product: Product) -> None:
        """Store changed catalogue fields (never stock)."""
        ...

    async def take_stock(self, product_id: UUID, quantity: int) -> bool:
        """Remove ``quantity`` available units only if that many are there."""
        ...

    async def put_back_stock(self, product_id: UUID, quantity: int) -> None:
        """Return units to the available stock."""
        ...

    async def adjust_stock(self, product_id: UUID, delta: int, now: datetime) -> Product | None:
        """Add ``delta`` units unless available stock would go negative or the units on
        hand (available plus held) would pass ``MAX_STOCK``; ``None`` if not applied."""
        ...


class ReservationRepositoryPort(Protocol):
    """Reservation storage. Status changes are conditional, so each happens exactly once."""

    async def add_if_key_free(self, reservation: Reservation) -> bool:
        """Insert the reservation and its lines; ``False`` if its key is already taken."""
        ...

    async def hold_alone(self, request: HoldRequest, max_total_minor: int) -> Reservation | None:
        """Make the whole hold as one statement, if it can be made that way; else nothing.

        The held reservation, priced: every product found with stock for its line, one
        currency, a total of at most ``max_total_minor`` cents, the key free; the key
        claimed, the stock taken, the lines written. ``None``, with nothing written,
        when any of that fails or the database cannot do it in one statement: the
        caller then makes the hold step by step, which says why it is refused.
        """
        ...

    async def get(self, reservation_id: UUID) -> Reservation | None:
        """One reservation, or ``None``."""
        ...

    async def get_by_key(self, key: str) -> Reservation | None:
        """The reservation made with ``key``, or ``None``."""
        ...

    async def change_status(
        self,
        reservation_id: UUID,
        from_statuses: frozenset[ReservationStatus],
        to_status: ReservationStatus,
        now: datetime,
        *,
        lapsed: bool | None = None,
    ) -> bool:
        """Move to ``to_status`` only from ``from_statuses``; ``True`` if this call did it.

        ``lapsed=True`` additionally requires ``expires_at <= now``,
        ``lapsed=False`` requires ``expires_at > now``.
        """
        ...

    async def confirm_if_held(self, reservation_id: UUID, now: datetime) -> Reservation | None:
        """Held and not lapsed → confirmed, returned; ``None`` (nothing changed) otherwise."""
        ...

    async def lapsed_ids(self, now: datetime, limit: int) -> list[UUID]:
        """Ids of held reservations whose expiry has passed, oldest first."""
        ...


class InboxRepositoryPort(Protocol):
    """Integration events this service already applied (one row per event and consumer)."""

    async def claim(self, event_id: UUID, consumer: str, now: datetime) -> bool:
        """Record the event as applied in this transaction; ``False`` if it already was."""
        ...
