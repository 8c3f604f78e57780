"""The ``cutover report`` command: options, help and exit status; a service passes its ``Subject``."""

import argparse
import json
import sys
from dataclasses import fields
from typing import TextIO

from cutover.report.names import Subject
from cutover.report.read import Unreadable, build_prometheus_report, build_report
from cutover.report.render import render
from cutover.report.verdict import Thresholds

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_UNREADABLE = 2

_HELP_INDENT = "\n" + " " * 28


def description(subject: Subject) -> str:
    """The command's help text, naming the subject's service, call histogram and errors."""
    errors = _HELP_INDENT.join(subject.errors_help)
    return f"""\
Read the cut-over evidence from a running {subject.service} service and print a go/no-go verdict.

Figures (from /metrics; since the process started, or over --window seconds; a restart
during the window makes the later scrape alone the figures, and the report says so):
  shadow mismatch rate      mismatch / (match + settled + mismatch) of shadow comparisons,
                            by method; settled is a difference a re-read of both sides
                            did not reproduce (a read racing a write): agreement here
  shadow settled rate       settled / (match + settled + mismatch), by method
  candidate failure rate    (candidate_error + candidate_timeout) / mirrored reads
  latency http vs local     p50/p95/p99 of {subject.names.calls} per
                            mode, estimated from the histogram buckets as PromQL's
                            histogram_quantile does (bounded by the bucket edges), and the
                            ratio http/local; overall over the methods both paths served
                            (the local path: mode="local" and, for shadow reads, the
                            shadow client's local answers, mode="shadow")
  error rate by mode        {errors}
  canary                    share routed to http, fallback active, fallback trips, routed calls

GO needs every check to pass with enough samples: shadow mismatch rate, shadow settled
rate (a loose maximum: races are expected, a rate far above what writes explain is not),
shadow candidate failure rate and http error rate under their maxima, the http/local p95
and p99 ratios under theirs, and the canary fallback neither active nor tripped in the
judged figures. Too few samples is NO-GO.

Exit status: 0 GO, 1 NO-GO (including insufficient data), 2 the service could not be read
(connection refused, non-200 answer, not Prometheus text, not {subject.a_service}).
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


def add_report_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", subject: Subject
) -> None:
    """The ``report`` subcommand of ``subject``'s service, with its options."""
    report = commands.add_parser(
        "report",
        help="go/no-go verdict from a running service's /metrics (exit 0 go, 1 no-go, 2 unreadable)",
        description=description(subject),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arguments(report, subject)


def add_report_arguments(parser: argparse.ArgumentParser, subject: Subject) -> None:
    """The options of ``cutover report``."""
    defaults = Thresholds()
    service = subject.service
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--url",
        help=f"one {service} process's base URL, e.g. {subject.example_url} (its /metrics)",
    )
    source.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus' base URL, e.g. http://prometheus:9090: the figures summed over"
        f" every {service} replica it scrapes (the dashboard's source)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"an admin JWT: also show the flags in force (GET {subject.flags_path}; --url only)",
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


def run(
    args: argparse.Namespace,
    subject: Subject,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``cutover report`` of ``subject``'s service: print the report; the exit status."""
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
                subject,
                args.prometheus,
                thresholds_of(args),
                window=args.window,
                timeout=args.timeout,
            )
        else:
            report = build_report(
                subject,
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
        print(render(report, subject), file=out)
    return EXIT_GO if report.verdict.go else EXIT_NO_GO
