"""``python -m bench.e2e``: the end-to-end benchmark (``just bench``), or ``--scaling``.

Creates fresh PostgreSQL databases, migrates them, loads a catalogue with plenty of
stock through the products admin API, starts real uvicorn processes with production
settings (one worker, uvloop, httptools, log level WARNING, no access log, generated
secrets) and drives each with wrk: the bare ``ceiling`` app, the ``anchor`` app (the
same stack doing the least a quote and an order can do), orders' quote in every
product-client mode (and through a client built per call), orders' place-order in
local, http and canary mode (canary at 0 % and 50 %). The two rows of each ratio the
report judges take turns in rounds within a cell, both apps up, one driven at a time.
The orders rows rotate among several bench users per request, half of them on http in
a 50 % canary. Prints the tables and the ratios against the targets, writes
``bench-results/bench.json`` and ``docs/bench/throughput.png`` (``--plot`` elsewhere).

    uv run python -m bench.e2e [--seconds 3] [--rounds 3] [--concurrency 1 8 32] [--scaling]
"""

import argparse
import asyncio
import json
import sys

from bench.e2e.load import ensure_wrk
from bench.e2e.matrix import APPS, main_matrix
from bench.e2e.paths import RESULTS, ROOT
from bench.e2e.rounds import round_lengths
from bench.e2e.scaling import scaling
from bench.e2e.servers import Secrets


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="duration of each cell (a paired row: over all its rounds, --seconds / --rounds each)",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--products", type=int, default=50, help="catalogue size")
    parser.add_argument(
        "--apps",
        nargs="+",
        choices=APPS,
        default=list(APPS),
        help="measure only these apps (for targeted runs while iterating)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy runs")
    parser.add_argument("--profile-seconds", type=float, default=6.0)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--plot",
        default=None,
        metavar="PATH",
        help="write the chart here (relative to the repository) instead of"
        " docs/bench/throughput.png, e.g. for a run of only some apps",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="APP_X=V", help="setting for every service"
    )
    parser.add_argument("--scaling", action="store_true", help="run the scaling check instead")
    parser.add_argument(
        "--history", type=int, default=2_000, help="scaling: orders at 1x (10x and 100x follow)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds: of each pair of rows (default 3), of the scaling check (3)",
    )
    parser.add_argument("--scaling-seconds", type=float, default=2.0)
    # c=1: p50 is the per-request cost, not queueing behind other requests on 2 cores.
    parser.add_argument("--scaling-concurrency", type=int, default=1)
    args = parser.parse_args()
    if args.rounds is None:
        # Pairs: 3 rounds of 1 s a side keep a full run near 8 minutes; the median
        # of 3 still outvotes one disturbed round.
        args.rounds = 3
    if not args.scaling:
        try:
            round_lengths(args.seconds, args.rounds)
        except ValueError as error:
            parser.error(str(error))
    return args


def tuning(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """Settings overrides for every service process (``--env NAME=VALUE``)."""
    split = [item.split("=", 1) for item in pairs]
    if any(len(pair) != 2 or not pair[0].startswith(("APP_", "FEATURE_")) for pair in split):
        sys.exit("--env takes APP_NAME=VALUE or FEATURE_NAME=VALUE")
    return tuple((name, value) for name, value in split)


def main() -> None:
    """Run the matrix (or the scaling check) and write its JSON report."""
    args = parse_args()
    ensure_wrk()
    RESULTS.mkdir(parents=True, exist_ok=True)
    keys = Secrets(tuning=tuning(args.env))
    if args.scaling:
        result = asyncio.run(scaling(args, keys))
        out = RESULTS / "scaling.json"
    else:
        result = asyncio.run(main_matrix(args, keys))
        out = RESULTS / "bench.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
