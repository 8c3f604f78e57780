"""A scrape parsed by prometheus-client, two scrapes subtracted, bucket quantiles (ADR 0018)."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from prometheus_client.parser import text_string_to_metric_families

from cutover.report.names import PROCESS_START

_CUMULATIVE_TYPES = frozenset({"counter", "histogram", "summary", "gaugehistogram"})

LabelSet = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Snapshot:
    """One scrape, or the difference of two: sample name → label set → value."""

    samples: Mapping[str, Mapping[LabelSet, float]]
    # The sample names that only grow (counters, histograms): ``difference``
    # subtracts them; the rest are gauges and keep the later value.
    cumulative: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    # A window's difference only: the service restarted in between, so this is the
    # later scrape alone (everything since the restart).
    restarted: bool = False

    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every (labels, value) of one sample name (e.g. ``..._bucket``)."""
        return [(dict(labels), value) for labels, value in self.samples.get(name, {}).items()]


def parse_exposition(text: str) -> Snapshot:
    """Parse Prometheus text with prometheus-client's parser; ``ValueError`` if it is not that."""
    samples: dict[str, dict[LabelSet, float]] = {}
    cumulative: set[str] = set()
    families: set[str] = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # a timestamp, not a count
            if family.type in _CUMULATIVE_TYPES:
                cumulative.add(sample.name)
            labels = frozenset(sample.labels.items())
            by_labels = samples.setdefault(sample.name, {})
            by_labels[labels] = by_labels.get(labels, 0.0) + float(sample.value)
    return Snapshot(samples, frozenset(cumulative), frozenset(families))


def restarted_between(later: Snapshot, earlier: Snapshot) -> bool:
    """Whether the service restarted between two scrapes.

    ``process_start_time_seconds`` changed (when exported: one worker), or a
    cumulative series went down or disappeared (counters only grow while the
    process lives).
    """
    started = (earlier.samples.get(PROCESS_START, {}), later.samples.get(PROCESS_START, {}))
    if all(started) and started[0] != started[1]:
        return True
    for name in earlier.cumulative:
        after = later.samples.get(name, {})
        for labels, value in earlier.samples.get(name, {}).items():
            if after.get(labels, -math.inf) < value:
                return True
    return False


def difference(later: Snapshot, earlier: Snapshot) -> Snapshot:
    """What happened between two scrapes: counters subtract, gauges keep the later value.

    If the service restarted in between (``restarted_between``), subtracting is
    meaningless (some series would be reset and others not, and histogram buckets
    would mix both): the later scrape alone is the window, marked ``restarted``.
    """
    if restarted_between(later, earlier):
        return replace(later, restarted=True)
    samples: dict[str, dict[LabelSet, float]] = {}
    for name, by_labels in later.samples.items():
        if name not in later.cumulative:
            samples[name] = dict(by_labels)
            continue
        before = earlier.samples.get(name, {})
        samples[name] = {
            labels: value - before.get(labels, 0.0) for labels, value in by_labels.items()
        }
    return Snapshot(samples, later.cumulative, later.families)


# prometheus-client only parses and exposes: this is PromQL's histogram_quantile, the
# linear interpolation inside the bucket the rank falls in.
def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The q-quantile of cumulative ``(upper bound, count)`` buckets, as PromQL computes it.

    ``None`` when there are no observations or no ``+Inf`` bucket. A rank in the
    ``+Inf`` bucket answers the highest finite bound; in the first bucket the lower
    edge is 0 (for a positive bound).
    """
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    # Counts are cumulative; a scrape racing an observation may break monotony.
    bounds = [bound for bound, _ in ordered]
    counts: list[float] = []
    for _, count in ordered:
        counts.append(max(count, counts[-1]) if counts else count)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    b = next((i for i in range(len(counts) - 1) if counts[i] >= rank), len(counts) - 1)
    if b == len(counts) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start = 0.0 if b == 0 else bounds[b - 1]
    below = 0.0 if b == 0 else counts[b - 1]
    return start + (bounds[b] - start) * ((rank - below) / (counts[b] - below))
