"""Notifications written to the log (the default: nothing leaves the process)."""

import logging

logger = logging.getLogger("orders.notifications")


def _masked(address: str) -> str:
    # Enough to tell messages apart in the log without writing out personal data.
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"***{address[-2:]}"


class LogNotifier:
    """Implements ``NotificationPort`` by logging each message."""

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        logger.info(
            "email", extra={"to": _masked(to), "subject": subject, "dedupe_key": dedupe_key}
        )

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        logger.info("sms", extra={"to": _masked(to), "dedupe_key": dedupe_key})
