"""``orders cutover report``: read a running orders service's evidence and print a verdict.

It scrapes ``/metrics`` once (or twice, ``--window`` seconds apart, and judges the
difference), optionally reads the flags in force from the admin API, and prints
every figure, every check with its threshold and sample size, and the verdict.
Exit status: 0 GO, 1 NO-GO (including too few samples), 2 the service could not
be read.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TextIO

import httpx

from orders.entrypoints.cutover.evidence import (
    CALLS,
    PERCENTILES,
    Latency,
    Snapshot,
    difference,
    parse_exposition,
    sum_counts,
)
from orders.entrypoints.cutover.verdict import Evidence, Thresholds, Verdict, judge
from shop_contracts import paths

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_UNREADABLE = 2
FLAGS_PATH = f"{paths.API_PREFIX}/admin/flags"

DESCRIPTION = """\
Read the cut-over evidence from a running orders service and print a go/no-go verdict.

Figures (from /metrics; since the process started, or over --window seconds; a restart
during the window makes the later scrape alone the figures, and the report says so):
  shadow mismatch rate      mismatch / (match + settled + mismatch) of shadow comparisons,
                            by method; settled is a difference a re-read of both sides
                            did not reproduce (a read racing a write): agreement here
  shadow settled rate       settled / (match + settled + mismatch), by method
  candidate failure rate    (candidate_error + candidate_timeout) / mirrored reads
  latency http vs local     p50/p95/p99 of orders_product_client_call_duration_seconds per
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
    parser.add_argument("--url", required=True, help="orders' base URL, e.g. http://orders:8000")
    parser.add_argument(
        "--token",
        default=None,
        help="an admin JWT: also show the flags in force (GET /api/v1/admin/flags)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="SECONDS",
        help="scrape twice, SECONDS apart, and judge only the traffic in between",
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


@dataclass(frozen=True)
class Report:
    """Everything printed: where from, over what span, the figures, the checks, the verdict."""

    url: str
    window_seconds: float | None
    thresholds: Thresholds
    evidence: Evidence
    verdict: Verdict
    flags: dict[str, Any] | None
    # --window only: the service restarted during the window, so the figures are
    # the later scrape alone (everything since the restart).
    restarted: bool = False

    def as_json(self) -> dict[str, Any]:
        """The JSON form (``--json``)."""
        evidence = self.evidence
        latency = evidence.latency
        shadow_total = sum_counts(list(evidence.shadow.values()))
        body: dict[str, Any] = {
            "url": self.url,
            "window_seconds": self.window_seconds,
            "restarted_during_window": self.restarted,
            "verdict": "GO" if self.verdict.go else "NO-GO",
            "reasons": self.verdict.reasons,
            "checks": [check.as_json() for check in self.verdict.checks],
            "thresholds": vars(self.thresholds),
            "shadow": {
                "total": _shadow_json(shadow_total),
                "by_method": {m: _shadow_json(c) for m, c in evidence.shadow.items()},
            },
            "latency": {
                "estimate": "histogram_quantile over the buckets; bounded by bucket edges",
                "local_series": list(latency.local_series),
                "common_methods": list(latency.common_methods),
                "http": _latency_json(latency.http),
                "local": _latency_json(latency.local),
                "ratio": _percentiles_json(latency.ratios),
                "by_method": {
                    method: {
                        "http": _latency_json(http),
                        "local": _latency_json(local),
                        "ratio": _percentiles_json(ratios),
                    }
                    for method, (http, local, ratios) in latency.by_method.items()
                },
            },
            "errors": {
                mode: {
                    "calls": rate.calls,
                    "errors": rate.errors,
                    "cancelled": rate.cancelled,
                    "rate": rate.rate,
                }
                for mode, rate in evidence.errors.items()
            },
            "canary": {
                "share": evidence.canary.share,
                "share_values": list(evidence.canary.share_values),
                "fallback_active": evidence.canary.fallback_active,
                "fallback_trips": evidence.canary.fallback_trips,
                "routed": [
                    {"mode": mode, "client": client, "calls": calls}
                    for (mode, client), calls in evidence.canary.routed.items()
                ],
            },
        }
        if self.flags is not None:
            body["flags"] = self.flags
        return body


def _shadow_json(counts: Any) -> dict[str, Any]:
    return {
        "match": counts.match,
        "settled": counts.settled,
        "mismatch": counts.mismatch,
        "candidate_error": counts.candidate_error,
        "candidate_timeout": counts.candidate_timeout,
        "skipped": counts.skipped,
        "sampled_out": counts.sampled_out,
        "mismatch_rate": counts.mismatch_rate,
        "settled_rate": counts.settled_rate,
        "candidate_error_rate": counts.candidate_error_rate,
        "candidate_timeout_rate": counts.candidate_timeout_rate,
    }


def _percentiles_json(values: Mapping[float, float | None]) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": values.get(q) for q in PERCENTILES}


def _latency_json(latency: Latency) -> dict[str, Any]:
    return {"calls": latency.calls, **_percentiles_json(latency.percentiles)}


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(headers)).rstrip()]
    lines += [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    return lines


def _flag_lines(flags: Mapping[str, Any]) -> list[str]:
    if "error" in flags:
        return [f"Flags: not read ({flags['error']})"]
    lines = ["Flags in force:"]
    effective = flags.get("effective", flags.get("flags"))
    if isinstance(effective, Mapping):
        lines += [f"  {name} = {value}" for name, value in effective.items()]
    overrides = flags.get("overrides")
    if isinstance(overrides, Mapping):
        for name, override in overrides.items():
            if isinstance(override, Mapping):
                lines.append(
                    f"  override {name} = {override.get('value')} by {override.get('updated_by')}"
                    f" at {override.get('updated_at')}: {override.get('reason')}"
                )
    ignored = flags.get("ignored")
    if isinstance(ignored, Mapping):
        lines += [f"  ignored stored {name}: {why}" for name, why in ignored.items()]
    choosable = flags.get("choosable_products_clients")
    if isinstance(choosable, list):
        lines.append(f"  products_client may be: {', '.join(map(str, choosable))}")
    fallback = flags.get("fallback")
    if isinstance(fallback, Mapping):
        pending = " (pending: its write is not in the store yet)" if fallback.get("pending") else ""
        lines.append(
            f"  canary fallback holds since {fallback.get('at')}{pending}: {fallback.get('reason')}"
        )
    if len(lines) == 1:
        lines.append(f"  {json.dumps(flags, sort_keys=True)}")
    return lines


def _span(window: float | None, restarted: bool) -> str:
    if window is None:
        return "since the process started"
    if restarted:
        return (
            f"over a {window:g} s window during which the service restarted:"
            " the figures are everything since that restart"
        )
    return f"over a {window:g} s window"


def render(report: Report) -> str:
    """The human-readable report."""
    evidence, latency = report.evidence, report.evidence.latency
    span = _span(report.window_seconds, report.restarted)
    out = [f"Cut-over report for {report.url} ({span})", ""]
    if report.flags is not None:
        out += [*_flag_lines(report.flags), ""]

    canary = evidence.canary
    share = "not exported" if canary.share is None else f"{canary.share:g} %"
    if len(canary.share_values) > 1:
        share += f" (processes disagree: {', '.join(f'{v:g}' for v in canary.share_values)})"
    active = {None: "not exported", True: "ACTIVE", False: "inactive"}[canary.fallback_active]
    trips = "-" if canary.fallback_trips is None else str(canary.fallback_trips)
    out.append(f"Canary: share {share}; fallback {active}; fallback trips {trips}")
    if canary.routed:
        routed = ", ".join(f"{m}->{c} {n}" for (m, c), n in canary.routed.items())
        out.append(f"Routed requests (mode->client): {routed}")
    out.append("")

    out.append("Shadow comparisons by method")
    shadow_rows = [
        [
            method,
            str(c.match),
            str(c.settled),
            str(c.mismatch),
            str(c.candidate_error),
            str(c.candidate_timeout),
            _rate(c.mismatch_rate),
            _rate(c.settled_rate),
            _rate(c.candidate_error_rate),
            _rate(c.candidate_timeout_rate),
        ]
        for method, c in [
            *evidence.shadow.items(),
            ("all", sum_counts(list(evidence.shadow.values()))),
        ]
    ]
    out += _table(
        [
            "method",
            "match",
            "settled",
            "mismatch",
            "cand_error",
            "cand_timeout",
            "mismatch_rate",
            "settled_rate",
            "error_rate",
            "timeout_rate",
        ],
        shadow_rows,
    )
    out.append("")

    local_name = " + ".join(f"mode={mode}" for mode in latency.local_series)
    out.append(
        "Latency in ms (estimates from histogram buckets, bounded by the bucket edges); "
        f"local path: {local_name}"
    )
    latency_rows = []
    for method, (http, local, ratios) in [
        *latency.by_method.items(),
        (
            f"all of: {', '.join(latency.common_methods) or '-'}",
            (latency.http, latency.local, latency.ratios),
        ),
    ]:
        latency_rows.append(
            [
                method,
                str(http.calls),
                *(_ms(http.percentiles.get(q)) for q in PERCENTILES),
                str(local.calls),
                *(_ms(local.percentiles.get(q)) for q in PERCENTILES),
                *(_ratio(ratios.get(q)) for q in PERCENTILES),
            ]
        )
    out += _table(
        [
            "method",
            "http_n",
            "http_p50",
            "http_p95",
            "http_p99",
            "local_n",
            "local_p50",
            "local_p95",
            "local_p99",
            "x_p50",
            "x_p95",
            "x_p99",
        ],
        latency_rows,
    )
    out.append("")

    out.append("Error rate by mode (outcome products_unavailable or error / calls)")
    out += _table(
        ["mode", "calls", "errors", "cancelled", "rate"],
        [
            [mode, str(r.calls), str(r.errors), str(r.cancelled), _rate(r.rate)]
            for mode, r in evidence.errors.items()
        ],
    )
    out.append("")

    out.append("Checks")
    out += _table(
        ["check", "value", "threshold", "samples", "result"],
        [
            [
                check.name,
                "-" if check.value is None else f"{check.value:.4g}",
                check.threshold,
                "-" if check.samples is None else str(check.samples),
                check.status.value,
            ]
            for check in report.verdict.checks
        ],
    )
    out.append("")
    out.append(f"Verdict: {'GO' if report.verdict.go else 'NO-GO'}")
    out += [f"  - {reason}" for reason in report.verdict.reasons]
    return "\n".join(out)


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

    A restart during the window (``evidence.restarted_between``) makes the later
    scrape alone the figures; the report says so (``restarted``).
    """
    with httpx.Client(timeout=timeout) as client:
        snapshot = scrape(client, url)
        if window is not None:
            sleep(window)
            snapshot = difference(scrape(client, url), snapshot)
        flags = read_flags(client, url, token) if token else None
    evidence = Evidence.of(snapshot)
    verdict = judge(evidence, thresholds, span=_span(window, snapshot.restarted))
    return Report(url, window, thresholds, evidence, verdict, flags, snapshot.restarted)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``orders cutover report``: print the report; the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    if args.window is not None and args.window <= 0:
        print("--window must be positive", file=err)
        return EXIT_UNREADABLE
    try:
        report = build_report(
            args.url,
            thresholds_of(args),
            token=args.token,
            window=args.window,
            timeout=args.timeout,
        )
    except Unreadable as exc:
        print(f"cannot read the service: {exc}", file=err)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print(render(report), file=out)
    return EXIT_GO if report.verdict.go else EXIT_NO_GO
