"""Who handles an outbox event, as the relay asks it, and the failure it retries without end."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

E_contra = TypeVar("E_contra", contravariant=True)


class RetryLater(Exception):
    """A handler failure that says nothing about the event (the broker is down).

    The relay retries it with backoff for as long as it takes and never
    dead-letters the row for it: an outage delays events, it does not lose them.
    """


class Handlers(Protocol[E_contra]):
    """The named handlers of each event (names let the relay skip ones that succeeded)."""

    def handlers_for(
        self, event: E_contra
    ) -> Sequence[tuple[str, Callable[[E_contra], Awaitable[None]]]]:
        """The named handlers for an event, in registration order."""
        ...
