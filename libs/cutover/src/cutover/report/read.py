"""The evidence read from a running service's ``/metrics`` or from Prometheus, and judged (ADR 0018)."""

import time
from collections.abc import Callable
from typing import Any

import httpx

from cutover.report.exposition import LabelSet, Snapshot, difference, parse_exposition
from cutover.report.names import Subject
from cutover.report.promql import cumulative, sample_queries
from cutover.report.render import Report, describe_span
from cutover.report.verdict import Evidence, Thresholds, judge


class Unreadable(Exception):
    """The service's evidence could not be read."""


def scrape(client: httpx.Client, url: str, subject: Subject) -> Snapshot:
    """One scrape of ``url``/metrics; ``Unreadable`` if it cannot be had or parsed."""
    target = f"{url.rstrip('/')}/metrics"
    try:
        response = client.get(target)
    except httpx.HTTPError as exc:
        raise Unreadable(f"cannot reach {target}: {exc}") from exc
    if response.status_code != 200:
        raise Unreadable(f"{target} answered {response.status_code}")
    try:
        snapshot = parse_exposition(response.text)
    except ValueError as exc:
        raise Unreadable(f"{target} is not Prometheus text: {exc}") from exc
    calls = subject.names.calls
    if calls not in snapshot.families:
        raise Unreadable(f"{target} has no {calls}: not {subject.a_service}")
    return snapshot


def _query(client: httpx.Client, base: str, query: str) -> list[dict[str, Any]]:
    """One instant query's vector; ``Unreadable`` if Prometheus does not answer one."""
    target = f"{base.rstrip('/')}/api/v1/query"
    try:
        response = client.get(target, params={"query": query})
        body = response.json()
    except httpx.HTTPError as exc:
        raise Unreadable(f"cannot reach {target}: {exc}") from exc
    except ValueError as exc:
        raise Unreadable(f"{target} answered {response.status_code}, not JSON") from exc
    if response.status_code != 200 or body.get("status") != "success":
        raise Unreadable(f"{target} refused {query!r}: {body.get('error', response.status_code)}")
    data = body.get("data") or {}
    if data.get("resultType") != "vector":
        raise Unreadable(f"{target} answered a {data.get('resultType')} for {query!r}")
    result: list[dict[str, Any]] = data.get("result") or []
    return result


def query_prometheus(
    client: httpx.Client, base: str, window: float | None, subject: Subject
) -> tuple[Snapshot, int]:
    """The samples the figures read, summed over every replica; and how many replicas."""
    names = subject.names
    samples: dict[str, dict[LabelSet, float]] = {}
    for name, query in sample_queries(names, window).items():
        by_labels = samples.setdefault(name, {})
        for item in _query(client, base, query):
            labels = {k: v for k, v in item["metric"].items() if k != "__name__"}
            by_labels[frozenset(labels.items())] = float(item["value"][1])
    # Every process of the service exports the share gauge (unlabelled): one series each.
    share = names.canary_share
    replicas = len(samples.get(share, {}))
    if not replicas:
        raise Unreadable(f"Prometheus at {base} scrapes no {subject.service} process (no {share})")
    snapshot = Snapshot(samples, frozenset(cumulative(names)), frozenset({names.calls}))
    return snapshot, replicas


def read_flags(client: httpx.Client, url: str, token: str, path: str) -> dict[str, Any] | None:
    """The admin flags body at ``path``; ``None`` when the endpoint does not exist (404)."""
    target = f"{url.rstrip('/')}{path}"
    try:
        response = client.get(target, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return {"error": f"cannot reach {target}: {exc}"}
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        return {"error": f"{target} answered {response.status_code}"}
    try:
        body = response.json()
    except ValueError:
        return {"error": f"{target} did not answer JSON"}
    return body if isinstance(body, dict) else {"error": f"{target} did not answer an object"}


def build_prometheus_report(
    subject: Subject,
    prometheus: str,
    thresholds: Thresholds,
    *,
    window: float | None = None,
    timeout: float = 10.0,
) -> Report:
    """Query Prometheus (``promql.sample_queries``) and judge; ``Unreadable`` on failure."""
    with httpx.Client(timeout=timeout) as client:
        snapshot, replicas = query_prometheus(client, prometheus, window, subject)
    evidence = Evidence.of(snapshot, subject.names)
    span = describe_span(window, False, replicas, subject.service)
    verdict = judge(evidence, thresholds, span=span)
    return Report(prometheus, window, thresholds, evidence, verdict, None, replicas=replicas)


def build_report(
    subject: Subject,
    url: str,
    thresholds: Thresholds,
    *,
    token: str | None = None,
    window: float | None = None,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Scrape (twice with a window), read the flags, judge; ``Unreadable`` on failure.

    A restart during the window (``exposition.restarted_between``) makes the later
    scrape alone the figures; the report says so (``restarted``).
    """
    with httpx.Client(timeout=timeout) as client:
        snapshot = scrape(client, url, subject)
        if window is not None:
            sleep(window)
            snapshot = difference(scrape(client, url, subject), snapshot)
        flags = read_flags(client, url, token, subject.flags_path) if token else None
    evidence = Evidence.of(snapshot, subject.names)
    verdict = judge(evidence, thresholds, span=describe_span(window, snapshot.restarted))
    return Report(url, window, thresholds, evidence, verdict, flags, snapshot.restarted)
