"""The cut-over report's forms: the ``Report`` it prints, as text tables or JSON (ADR 0018)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cutover.flags.views import choosable_field
from cutover.report.evidence import PERCENTILES, Latency, ShadowCounts, sum_counts
from cutover.report.names import Subject
from cutover.report.verdict import Evidence, Thresholds, Verdict

__all__ = ["Report", "describe_span", "render"]


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
    # --prometheus: the service's processes Prometheus summed (None: one process's /metrics).
    replicas: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON form (``--json``)."""
        evidence = self.evidence
        latency = evidence.latency
        shadow_total = sum_counts(evidence.shadow.values())
        body: dict[str, Any] = {
            "url": self.url,
            "source": "metrics" if self.replicas is None else "prometheus",
            "replicas": self.replicas,
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


def _shadow_json(counts: ShadowCounts) -> dict[str, Any]:
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


_PERCENTILE_NAMES = tuple(f"p{round(q * 100)}" for q in PERCENTILES)


def _percentiles_json(values: Mapping[float, float | None]) -> dict[str, float | None]:
    return {name: values.get(q) for name, q in zip(_PERCENTILE_NAMES, PERCENTILES, strict=True)}


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


def _flag_lines(flags: Mapping[str, Any], mode_flag: str) -> list[str]:
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
    choosable = flags.get(choosable_field(mode_flag))
    if isinstance(choosable, list):
        lines.append(f"  {mode_flag} may be: {', '.join(map(str, choosable))}")
    fallback = flags.get("fallback")
    if isinstance(fallback, Mapping):
        pending = " (pending: its write is not in the store yet)" if fallback.get("pending") else ""
        lines.append(
            f"  canary fallback holds since {fallback.get('at')}{pending}: {fallback.get('reason')}"
        )
    if len(lines) == 1:
        lines.append(f"  {json.dumps(flags, sort_keys=True)}")
    return lines


def describe_span(
    window: float | None, restarted: bool, replicas: int | None = None, service: str = ""
) -> str:
    """What the figures cover: since the start, or a window (and a restart during it).

    ``replicas``: the figures are Prometheus' sum over that many ``service`` processes.
    """
    if replicas is not None:
        # Prometheus: increase() over the window already accounts for restarts.
        processes = f"{service} process(es)" if service else "process(es)"
        summed = f"summed over {replicas} {processes} by Prometheus"
        if window is None:
            return f"since each process started, {summed}"
        return f"over a {window:g} s window, {summed}"
    if window is None:
        return "since the process started"
    if restarted:
        return (
            f"over a {window:g} s window during which the service restarted:"
            " the figures are everything since that restart"
        )
    return f"over a {window:g} s window"


def render(report: Report, subject: Subject) -> str:
    """The human-readable report of ``subject``."""
    evidence, latency = report.evidence, report.evidence.latency
    span = describe_span(report.window_seconds, report.restarted, report.replicas, subject.service)
    out = [f"Cut-over report for {report.url} ({span})", ""]
    if report.flags is not None:
        out += [*_flag_lines(report.flags, subject.mode_flag), ""]

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
            ("all", sum_counts(evidence.shadow.values())),
        ]
    ]
    shadow_headers = "method match settled mismatch cand_error cand_timeout mismatch_rate"
    out += _table(f"{shadow_headers} settled_rate error_rate timeout_rate".split(), shadow_rows)
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
    columns = [
        f"{side}_{column}" for side in ("http", "local") for column in ("n", *_PERCENTILE_NAMES)
    ]
    out += _table(["method", *columns, *(f"x_{p}" for p in _PERCENTILE_NAMES)], latency_rows)
    out.append("")

    out.append(f"Error rate by mode (outcome {' or '.join(subject.names.failed)} / calls)")
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
