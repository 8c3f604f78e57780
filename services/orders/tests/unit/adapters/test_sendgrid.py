"""SendGrid adapter against a mocked API (the injected client's transport is the mock)."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from orders.adapters.notifications.sendgrid import SendGridNotifier
from orders.domain.errors import NotificationFailed

URL = "https://sendgrid.test/v3/mail/send"


class _Sms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        raise AssertionError("not used")

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        self.sent.append((to, dedupe_key))


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
def sms() -> _Sms:
    return _Sms()


@pytest.fixture
async def notifier(router: respx.Router, sms: _Sms) -> AsyncIterator[SendGridNotifier]:
    # The mock is the client's transport: a request that escaped it could not be answered.
    client = httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler))
    yield SendGridNotifier(
        client, api_key="SG.secret", from_email="shop@example.com", url=URL, sms=sms
    )
    await client.aclose()


async def test_email_is_posted_with_bearer_key_and_v3_shape(
    router: respx.Router, notifier: SendGridNotifier
) -> None:
    route = router.post(URL).mock(return_value=httpx.Response(202))

    await notifier.send_email("a@example.com", "Hi", "Body", dedupe_key="order-placed:1")

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer SG.secret"
    assert json.loads(request.content) == {
        "personalizations": [{"to": [{"email": "a@example.com"}]}],
        "from": {"email": "shop@example.com"},
        "subject": "Hi",
        "content": [{"type": "text/plain", "value": "Body"}],
        "custom_args": {"dedupe_key": "order-placed:1"},
    }


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
async def test_non_202_answers_raise_notification_failed(
    router: respx.Router, notifier: SendGridNotifier, status: int
) -> None:
    router.post(URL).mock(return_value=httpx.Response(status, json={"errors": [{"message": "x"}]}))

    with pytest.raises(NotificationFailed, match=str(status)):
        await notifier.send_email("a@example.com", "Hi", "Body", dedupe_key="k")


async def test_transport_errors_raise_notification_failed(
    router: respx.Router, notifier: SendGridNotifier
) -> None:
    router.post(URL).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(NotificationFailed, match="unreachable"):
        await notifier.send_email("a@example.com", "Hi", "Body", dedupe_key="k")


async def test_sms_goes_to_the_configured_sms_channel(
    notifier: SendGridNotifier, sms: _Sms
) -> None:
    await notifier.send_sms("+3212345678", "Shipped", dedupe_key="k")

    assert sms.sent == [("+3212345678", "k")]
