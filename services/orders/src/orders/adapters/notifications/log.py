"""Notifications written to the log (the default: nothing leaves the process)."""

import logging

logger = logging.getLogger("orders.notifications")


class LogNotifier:
    """Implements ``NotificationPort`` by logging each message."""

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        logger.info("email", extra={"to": to, "subject": subject, "dedupe_key": dedupe_key})

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        logger.info("sms", extra={"to": to, "dedupe_key": dedupe_key})
