"""A deterministic in-process payment provider (the default outside production)."""

import hashlib
from decimal import Decimal
from uuid import UUID

from orders.domain.errors import PaymentFailed
from orders.domain.ports import PaymentReceipt
from shop_contracts.money import Money


class FakePayments:
    """Implements ``PaymentPort``: same key → same receipt; amounts over a limit are declined."""

    def __init__(self, decline_above: Decimal | None = None) -> None:
        self._decline_above = decline_above
        self.charges: dict[str, tuple[UUID, Money]] = {}
        self.refunds: dict[str, str] = {}

    async def charge(self, order_id: UUID, amount: Money, idempotency_key: str) -> PaymentReceipt:
        if self._decline_above is not None and amount.amount > self._decline_above:
            raise PaymentFailed(f"Declined: amount above {self._decline_above}")
        payment_id = _id("pay", idempotency_key)
        self.charges.setdefault(payment_id, (order_id, amount))
        return PaymentReceipt(payment_id=payment_id, status="succeeded")

    async def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        if payment_id not in self.charges:
            raise PaymentFailed(f"Unknown payment {payment_id}")
        refund_id = _id("re", idempotency_key)
        self.refunds.setdefault(refund_id, payment_id)
        return PaymentReceipt(payment_id=refund_id, status="succeeded")


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_fake_{hashlib.sha256(key.encode()).hexdigest()[:24]}"
