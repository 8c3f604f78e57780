"""Orders' outbox as servicekit's relay sees it: its table and codec, one order's events in order."""

import logging
from operator import attrgetter

from orders.adapters.db.tables import outbox
from orders.adapters.metrics import OUTBOX
from orders.adapters.outbox.codec import decode
from orders.domain.events import DomainEvent
from servicekit.outbox.relay import Outbox

ORDERS_OUTBOX: Outbox[DomainEvent] = Outbox(
    outbox, decode, attrgetter("order_id"), OUTBOX, logger=logging.getLogger(__name__)
)
