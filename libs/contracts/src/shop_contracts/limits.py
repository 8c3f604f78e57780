"""Every value limit of the two APIs, in one place.

The limits are chosen so that anything one step accepts fits every later step:
a price times the largest quantity, summed over the most lines, is checked
against the order total limit before an order is saved; the order total fits the
wire amount; stock never passes what its 32-bit column holds. The request models,
the OpenAPI documents and the database columns all read these names
(docs/adr/0014-value-limits.md).
"""

from datetime import date
from decimal import Decimal

MAX_PRICE = Decimal("9999999999.99")
"""Largest unit price (twelve digits, two of them cents)."""

MAX_ORDER_TOTAL = MAX_PRICE
"""Largest order total (and so line total), so it is still one wire amount; larger is refused."""

STORED_AMOUNT_DIGITS = 19
"""Digits of an amount an orders read returns: any signed 64-bit number of cents fits."""

MAX_LINE_QUANTITY = 10_000
"""Units of one product in one reservation line or order line (repeated lines merged)."""

MAX_RESERVATION_LINES = 50
"""Distinct products in one reservation or order."""

MAX_LOOKUP_IDS = 100
"""Product ids in one lookup call."""

MAX_STOCK = 1_000_000_000
"""Units of a product on hand (available plus held): creation, adjustments and bulk imports."""

MAX_STORED_STOCK = 2**31 - 1
"""What the 32-bit stock column holds; the most a read can ever report."""

MAX_KEY_LENGTH = 200
"""Reservation keys (and every column that stores a key or a user id)."""

MAX_EMAIL_LENGTH = 320
"""A user's e-mail address (RFC 5321 path limit); stored with each order."""

MAX_IDEMPOTENCY_KEY_LENGTH = 100
"""Client-chosen ``Idempotency-Key`` header of ``POST /orders``."""

MAX_SKU_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5_000
MAX_REASON_LENGTH = 500
MAX_SEARCH_LENGTH = 200

MAX_PAGE = 1_000_000
"""Highest page number of a list (a page past the int64 OFFSET range was a database error)."""

MAX_HEADER_BYTES = 16_384
"""Total size of a request's header names and values; more is refused with 431."""

MIN_DATE = date(1, 1, 1)
MAX_DATE = date(9999, 12, 31)
"""Calendar dates in queries: the whole ``YYYY-MM-DD`` range; an end date of
``9999-12-31`` means "no upper bound" rather than the (unrepresentable) next day."""
