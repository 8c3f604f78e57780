"""An adaptive concurrency limit (Gradient2) following a remote side's latency (ADR 0024)."""

import math

SHORT_WINDOW = 10  # samples in the short average: a queue shows within a few calls
LONG_WINDOW = 500  # samples in the baseline (an exponential average)
TOLERANCE = 2.0  # the short average may reach this multiple of the baseline unpunished
SMOOTHING = 0.2  # the share of each new estimate the limit takes
MIN_GRADIENT = 0.5  # one sample never cuts the limit by more (before smoothing)
DROP_FACTOR = 0.9  # a timed-out or cut call multiplies the limit by this
BASELINE_RECOVERY = 0.95  # a baseline far above the short average decays by this per sample


class AdaptiveLimit:
    """The in-flight limit towards the remote, from latency against its own baseline."""

    def __init__(self, max_limit: int, *, min_limit: int = 1, initial: int | None = None) -> None:
        if not 1 <= min_limit <= max_limit:
            raise ValueError("limits must satisfy 1 <= min_limit <= max_limit")
        self._min = min_limit
        self._max = max_limit
        self._limit = float(initial if initial is not None else max_limit)
        self._short = 0.0
        self._long = 0.0
        self._samples = 0

    @property
    def limit(self) -> int:
        """Calls allowed in flight now."""
        return max(self._min, min(self._max, int(self._limit)))

    @property
    def baseline_seconds(self) -> float:
        """The long-run latency average (0 before the first sample)."""
        return self._long

    @property
    def recent_seconds(self) -> float:
        """The short-run latency average (0 before the first sample)."""
        return self._short

    def sample(self, seconds: float, in_flight: int) -> None:
        """One answered attempt took ``seconds`` with ``in_flight`` calls out (itself included)."""
        self._samples += 1
        if self._samples == 1:
            self._short = self._long = seconds
            return
        self._short += (seconds - self._short) * (2.0 / (SHORT_WINDOW + 1))
        self._long += (seconds - self._long) * (2.0 / (min(self._samples, LONG_WINDOW) + 1))
        if self._long > 2 * self._short:
            self._long *= BASELINE_RECOVERY
        gradient = max(MIN_GRADIENT, min(1.0, TOLERANCE * self._long / self._short))
        # Not using the limit says nothing about whether it could be higher.
        queue = math.sqrt(self._limit) if in_flight >= self._limit / 2 else 0.0
        estimate = self._limit * gradient + queue
        self._limit = self._clamp(self._limit * (1 - SMOOTHING) + estimate * SMOOTHING)

    def dropped(self) -> None:
        """An attempt timed out or was cut: the remote could not keep up with this many."""
        self._limit = self._clamp(self._limit * DROP_FACTOR)

    def _clamp(self, value: float) -> float:
        return max(float(self._min), min(float(self._max), value))
