"""A protected remote's test doubles: its metrics (``kittest_remote_*``) and its errors."""

from servicekit.http_client.protect import ProtectionMetrics

METRICS = ProtectionMetrics("kittest", "remote", remote="warehouse")


class RemoteDown(Exception):
    """The remote's "unavailable" error, as a caller of ``Guard`` defines it."""

    def __init__(self, detail: str, retry_after: int = 1, *, maybe_applied: bool = False) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied


class QueueFull(RemoteDown):
    """This process's own queue refused the call: back-pressure, the remote was never asked."""
