"""``orders cutover report``: a running orders service's evidence and verdict (ADR 0018)."""

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TextIO

import httpx

from orders.entrypoints.cutover.exposition import LabelSet, Snapshot, difference, parse_exposition
from orders.entrypoints.cutover.names import CALLS, CANARY_SHARE
from orders.entrypoints.cutover.promql import CUMULATIVE, sample_queries
from orders.entrypoints.cutover.render import Report, describe_span, render
from orders.entrypoints.cutover.verdict import Evidence, Thresholds, judge
from shop_contracts import paths

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_UNREADABLE = 2
FLAGS_PATH = f"{paths.API_PREFIX}/admin/flags"

DESCRIPTION = f"""\
Read the cut-over evidence from a running orders service and print a go/no-go verdict.

Figures (from /metrics; since the process started, or over --window seconds; a restart
during the window makes the later scrape alone the figures, and the report says so):
  shadow mismatch rate      mismatch / (match + settled + mismatch) of shadow comparisons,
                            by method; settled is a difference a re-read of both sides
                            did not reproduce (a read racing a write): agreement here
  shadow settled rate       settled / (match + settled + mismatch), by method
  candidate failure rate    (candidate_error + candidate_timeout) / mirrored reads
  latency http vs local     p50/p95/p99 of {CALLS} per
                            mode, estimated from the histogram buckets as PromQL's
                            histogram_quantile does (bounded by the bucket edges), and the
                            ratio http/local; overall over the methods both paths served
                            (the local path: mode="local" and, for shadow reads, the
                            shadow client's local answers, mode="shadow")
  error rate by mode        outcome products_unavailable or error / all calls (domain
                            answers such as insufficient_stock are not errors, nor is
                            queue_full: orders' own bulkhead refusing a call)
  canary                    share routed to http, fallback active, fallback trips, routed calls

GO needs every check to pass with enough samples: shadow mismatch rate, shadow settled
rate (a loose maximum: races are expected, a rate far above what writes explain is not),
shadow candidate failure rate and http error rate under their maxima, the http/local p95
and p99 ratios under theirs, and the canary fallback neither active nor tripped in the
judged figures. Too few samples is NO-GO.

Exit status: 0 GO, 1 NO-GO (including insufficient data), 2 the service could not be read
(connection refused, non-200 answer, not Prometheus text, not an orders service).
"""


# The help of each threshold's option, ``--`` + its ``Thresholds`` field with dashes;
# argparse puts the field's default in place of %(default)g.
THRESHOLD_HELP = {
    "max_mismatch_rate": "highest shadow mismatch rate (%(default)g)",
    "max_settled_rate": "highest shadow settled rate: differences a re-read did not reproduce"
    " (%(default)g)",
    "max_http_error_rate": "highest http error rate, and shadow candidate failure rate"
    " (%(default)g)",
    "max_p95_ratio": "highest http/local p95 latency ratio (%(default)g)",
    "max_p99_ratio": "highest http/local p99 latency ratio (%(default)g)",
    "min_shadow_samples": "fewest shadow comparisons for the shadow checks"
    " (%(default)g; 0 accepts none)",
    "min_http_calls": "fewest http calls for the error and latency checks (%(default)g)",
    "min_local_calls": "fewest local calls for the latency checks (%(default)g)",
}


class Unreadable(Exception):
    """The service's evidence could not be read."""


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``orders cutover report``."""
    defaults = Thresholds()
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--url", help="one orders process's base URL, e.g. http://orders:8000 (its /metrics)"
    )
    source.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus' base URL, e.g. http://prometheus:9090: the figures summed over"
        " every orders replica it scrapes (the dashboard's source)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="an admin JWT: also show the flags in force (GET /api/v1/admin/flags; --url only)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="SECONDS",
        help="scrape twice, SECONDS apart, and judge only the traffic in between"
        " (--prometheus: the last SECONDS, with increase(), at once)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds for each HTTP request (10)"
    )
    limits = parser.add_argument_group("thresholds")
    for threshold in fields(Thresholds):
        default = getattr(defaults, threshold.name)
        limits.add_argument(
            f"--{threshold.name.replace('_', '-')}",
            type=type(default),
            default=default,
            help=THRESHOLD_HELP[threshold.name],
        )


def thresholds_of(args: argparse.Namespace) -> Thresholds:
    """The thresholds the command line asked for (each option is named after its field)."""
    return Thresholds(
        **{threshold.name: getattr(args, threshold.name) for threshold in fields(Thresholds)}
    )


def scrape(client: httpx.Client, url: str) -> Snapshot:
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
    if CALLS not in snapshot.families:
        raise Unreadable(f"{target} has no {CALLS}: not an orders service")
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


def query_prometheus(client: httpx.Client, base: str, window: float | None) -> tuple[Snapshot, int]:
    """The samples the figures read, summed over every replica; and how many replicas."""
    samples: dict[str, dict[LabelSet, float]] = {}
    for name, query in sample_queries(window).items():
        by_labels = samples.setdefault(name, {})
        for item in _query(client, base, query):
            labels = {k: v for k, v in item["metric"].items() if k != "__name__"}
            by_labels[frozenset(labels.items())] = float(item["value"][1])
    # Every orders process exports the share gauge (unlabelled): one series each.
    replicas = len(samples.get(CANARY_SHARE, {}))
    if not replicas:
        raise Unreadable(f"Prometheus at {base} scrapes no orders process (no {CANARY_SHARE})")
    snapshot = Snapshot(samples, frozenset(CUMULATIVE), frozenset({CALLS}))
    return snapshot, replicas


def read_flags(client: httpx.Client, url: str, token: str) -> dict[str, Any] | None:
    """The admin flags body; ``None`` when the endpoint does not exist (404)."""
    target = f"{url.rstrip('/')}{FLAGS_PATH}"
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
    prometheus: str, thresholds: Thresholds, *, window: float | None = None, timeout: float = 10.0
) -> Report:
    """Query Prometheus (``promql.sample_queries``) and judge; ``Unreadable`` on failure."""
    with httpx.Client(timeout=timeout) as client:
        snapshot, replicas = query_prometheus(client, prometheus, window)
    evidence = Evidence.of(snapshot)
    verdict = judge(evidence, thresholds, span=describe_span(window, False, replicas))
    return Report(prometheus, window, thresholds, evidence, verdict, None, replicas=replicas)


def build_report(
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
        snapshot = scrape(client, url)
        if window is not None:
            sleep(window)
            snapshot = difference(scrape(client, url), snapshot)
        flags = read_flags(client, url, token) if token else None
    evidence = Evidence.of(snapshot)
    verdict = judge(evidence, thresholds, span=describe_span(window, snapshot.restarted))
    return Report(url, window, thresholds, evidence, verdict, flags, snapshot.restarted)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``orders cutover report``: print the report; the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    if args.window is not None and args.window <= 0:
        print("--window must be positive", file=err)
        return EXIT_UNREADABLE
    if args.prometheus and args.token:
        print("--token reads one process's flags: use it with --url", file=err)
        return EXIT_UNREADABLE
    try:
        if args.prometheus:
            report = build_prometheus_report(
                args.prometheus, thresholds_of(args), window=args.window, timeout=args.timeout
            )
        else:
            report = build_report(
                args.url,
                thresholds_of(args),
                token=args.token,
                window=args.window,
                timeout=args.timeout,
            )
    except Unreadable as exc:
        print(f"cannot read the {'evidence' if args.prometheus else 'service'}: {exc}", file=err)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print(render(report), file=out)
    return EXIT_GO if report.verdict.go else EXIT_NO_GO
