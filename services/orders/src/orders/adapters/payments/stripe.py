"""Payments through Stripe's PaymentIntents and Refunds API over a pooled httpx client."""

from typing import Any
from uuid import UUID

import httpx

from orders.domain.errors import PaymentFailed, PaymentProviderUnavailable
from orders.domain.ports import PaymentReceipt
from shop_contracts.money import Money


class StripePayments:
    """Implements ``PaymentPort``; Stripe's ``Idempotency-Key`` header makes retries safe."""

    def __init__(
        self, client: httpx.AsyncClient, *, api_key: str, url: str, payment_method: str
    ) -> None:
        self._client = client
        self._api_key = api_key
        self._url = url.rstrip("/")
        self._payment_method = payment_method

    async def charge(self, order_id: UUID, amount: Money, idempotency_key: str) -> PaymentReceipt:
        body = await self._post(
            "/payment_intents",
            {
                "amount": str(amount.cents),
                "currency": amount.currency.lower(),
                "confirm": "true",
                "payment_method": self._payment_method,
                "metadata[order_id]": str(order_id),
            },
            idempotency_key,
        )
        # Only "succeeded" is money taken; "processing" or "requires_action" are not paid yet.
        if body.get("status") != "succeeded":
            raise PaymentFailed(f"Payment not completed: {body.get('status')}")
        return PaymentReceipt(payment_id=str(body["id"]), status=str(body["status"]))

    async def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        body = await self._post(
            "/refunds",
            {"payment_intent": payment_id, "amount": str(amount.cents)},
            idempotency_key,
        )
        return PaymentReceipt(payment_id=str(body["id"]), status=str(body.get("status", "")))

    async def _post(self, path: str, form: dict[str, str], idempotency_key: str) -> dict[str, Any]:
        try:
            response = await self._client.post(
                self._url + path,
                data=form,
                headers={
                    "Authorization": f"Bearer {self._api_key}",
                    "Idempotency-Key": idempotency_key,
                },
            )
        except httpx.HTTPError as exc:
            raise PaymentProviderUnavailable(f"Stripe unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise PaymentProviderUnavailable(f"Stripe answered {response.status_code}")
        if response.status_code >= 400:
            raise PaymentFailed(_decline_reason(response))
        body: dict[str, Any] = response.json()
        return body


def _decline_reason(response: httpx.Response) -> str:
    # Stripe's error message is meant for the customer; the raw body may carry more.
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or f"Stripe answered {response.status_code}")
