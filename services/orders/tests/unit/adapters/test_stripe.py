"""Stripe adapter against a mocked API (the injected client's transport is the mock)."""

from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import parse_qs
from uuid import uuid4

import httpx
import pytest
import respx

from orders.adapters.payments.stripe import StripePayments
from orders.domain.errors import PaymentFailed, PaymentProviderUnavailable
from shop_contracts.money import Money

BASE = "https://stripe.test/v1"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
async def stripe(router: respx.Router) -> AsyncIterator[StripePayments]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler))
    yield StripePayments(client, api_key="sk_test_123", url=BASE, payment_method="pm_card_visa")
    await client.aclose()


async def test_charge_creates_a_confirmed_payment_intent_in_cents(
    router: respx.Router, stripe: StripePayments
) -> None:
    route = router.post(f"{BASE}/payment_intents").mock(
        return_value=httpx.Response(200, json={"id": "pi_1", "status": "succeeded"})
    )
    order_id = uuid4()

    receipt = await stripe.charge(order_id, Money(Decimal("12.34"), "EUR"), "charge:o1")

    assert (receipt.payment_id, receipt.status) == ("pi_1", "succeeded")
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer sk_test_123"
    assert request.headers["Idempotency-Key"] == "charge:o1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "amount": ["1234"],
        "currency": ["eur"],
        "confirm": ["true"],
        "payment_method": ["pm_card_visa"],
        "metadata[order_id]": [str(order_id)],
    }


async def test_refund_posts_the_payment_intent_and_amount(
    router: respx.Router, stripe: StripePayments
) -> None:
    route = router.post(f"{BASE}/refunds").mock(
        return_value=httpx.Response(200, json={"id": "re_1", "status": "succeeded"})
    )

    receipt = await stripe.refund("pi_1", Money(Decimal("5"), "EUR"), "refund:o1")

    assert receipt.payment_id == "re_1"
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "refund:o1"
    assert parse_qs(request.content.decode()) == {"payment_intent": ["pi_1"], "amount": ["500"]}


async def test_card_decline_maps_to_payment_failed_with_stripes_message(
    router: respx.Router, stripe: StripePayments
) -> None:
    router.post(f"{BASE}/payment_intents").mock(
        return_value=httpx.Response(
            402, json={"error": {"type": "card_error", "message": "Your card was declined."}}
        )
    )

    with pytest.raises(PaymentFailed, match="Your card was declined"):
        await stripe.charge(uuid4(), Money(Decimal("1"), "EUR"), "k")


async def test_intent_requiring_action_is_not_treated_as_paid(
    router: respx.Router, stripe: StripePayments
) -> None:
    router.post(f"{BASE}/payment_intents").mock(
        return_value=httpx.Response(200, json={"id": "pi_2", "status": "requires_action"})
    )

    with pytest.raises(PaymentFailed, match="requires_action"):
        await stripe.charge(uuid4(), Money(Decimal("1"), "EUR"), "k")


@pytest.mark.parametrize("status", [429, 500, 502])
async def test_rate_limits_and_server_errors_map_to_provider_unavailable(
    router: respx.Router, stripe: StripePayments, status: int
) -> None:
    router.post(f"{BASE}/payment_intents").mock(return_value=httpx.Response(status))

    with pytest.raises(PaymentProviderUnavailable):
        await stripe.charge(uuid4(), Money(Decimal("1"), "EUR"), "k")


async def test_bad_credentials_map_to_payment_failed(
    router: respx.Router, stripe: StripePayments
) -> None:
    router.post(f"{BASE}/payment_intents").mock(return_value=httpx.Response(401, text="nope"))

    with pytest.raises(PaymentFailed, match="401"):
        await stripe.charge(uuid4(), Money(Decimal("1"), "EUR"), "k")


async def test_timeouts_map_to_provider_unavailable(
    router: respx.Router, stripe: StripePayments
) -> None:
    router.post(f"{BASE}/payment_intents").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(PaymentProviderUnavailable):
        await stripe.charge(uuid4(), Money(Decimal("1"), "EUR"), "k")
