"""E-mail through SendGrid's v3 Mail Send API over a pooled httpx client."""

import httpx

from orders.domain.errors import NotificationFailed
from orders.domain.ports import NotificationPort


class SendGridNotifier:
    """Implements ``NotificationPort``; SendGrid has no SMS, so texts go to ``sms``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        from_email: str,
        url: str,
        sms: NotificationPort,
    ) -> None:
        self._client = client
        self._api_key = api_key
        self._from_email = from_email
        self._url = url
        self._sms = sms

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        payload = {
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": self._from_email},
            "subject": subject,
            "content": [{"type": "text/plain", "value": body}],
            # Lets event webhooks and support tie a message to the event that caused it.
            "custom_args": {"dedupe_key": dedupe_key},
        }
        try:
            response = await self._client.post(
                self._url,
                json=payload,
                headers={"Authorization": f"Bearer {self._api_key}"},
            )
        except httpx.HTTPError as exc:
            raise NotificationFailed(f"SendGrid unreachable: {type(exc).__name__}") from exc
        if response.status_code != 202:
            # Status only: the body may echo the address, and errors end up in logs.
            raise NotificationFailed(f"SendGrid answered {response.status_code}")

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        await self._sms.send_sms(to, body, dedupe_key=dedupe_key)
