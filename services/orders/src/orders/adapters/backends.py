"""Notification and payment backends chosen by settings."""

import httpx

from orders.adapters.notifications.log import LogNotifier
from orders.adapters.notifications.sendgrid import SendGridNotifier
from orders.adapters.payments.fake import FakePayments
from orders.adapters.payments.stripe import StripePayments
from orders.config import NotificationsBackend, PaymentsBackend, Settings
from orders.domain.ports import NotificationPort, PaymentPort
from servicekit.tracing import instrument_http_client


def external_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client per process for every third-party API (SendGrid, Stripe)."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(settings.external_http_timeout_seconds))
    instrument_http_client(client)
    return client


def notifications_backend(settings: Settings, http: httpx.AsyncClient | None) -> NotificationPort:
    """The notifier ``APP_NOTIFICATIONS_BACKEND`` selects."""
    if settings.notifications_backend is NotificationsBackend.SENDGRID:
        assert http is not None
        assert settings.sendgrid_api_key is not None
        return SendGridNotifier(
            http,
            api_key=settings.sendgrid_api_key.get_secret_value(),
            from_email=settings.sendgrid_from_email,
            url=settings.sendgrid_url,
            sms=LogNotifier(),
        )
    return LogNotifier()


def payments_backend(settings: Settings, http: httpx.AsyncClient | None) -> PaymentPort:
    """The payment provider ``APP_PAYMENTS_BACKEND`` selects."""
    if settings.payments_backend is PaymentsBackend.STRIPE:
        assert http is not None
        assert settings.stripe_api_key is not None
        return StripePayments(
            http,
            api_key=settings.stripe_api_key.get_secret_value(),
            url=settings.stripe_url,
            payment_method=settings.stripe_payment_method,
        )
    return FakePayments()


def needs_external_http(settings: Settings) -> bool:
    """Whether a selected backend talks to a third-party API."""
    return (
        settings.notifications_backend is NotificationsBackend.SENDGRID
        or settings.payments_backend is PaymentsBackend.STRIPE
    )
