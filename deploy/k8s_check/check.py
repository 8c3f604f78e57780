"""All checks of one rendered overlay, and the command line that renders every overlay."""

import argparse
import sys
from pathlib import Path

import yaml

from deploy.k8s_check import broker, budget, migrations, network, pods, secrets, topology
from deploy.k8s_check.render import (
    K8S_DIR,
    OVERLAYS,
    Obj,
    RenderError,
    render_text,
    schema_problems,
)


def check(objects: list[Obj]) -> list[str]:
    """Every problem of one overlay's objects; an empty list means it is consistent."""
    problems = schema_problems(objects)
    if problems:
        return problems  # the policy checks below assume well-formed objects
    for module in (pods, topology, migrations, secrets, broker, network, budget):
        problems += module.check(objects)
    return problems


def main(argv: list[str]) -> int:
    """Render, validate and check every overlay; write the rendered YAML with ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m deploy.k8s_check", description=__doc__)
    parser.add_argument("--out", type=Path, help="write <overlay>.yaml files here")
    parser.add_argument("overlays", nargs="*", default=list(OVERLAYS))
    args = parser.parse_args(argv)
    failed = False
    for overlay in args.overlays:
        try:
            text = render_text(K8S_DIR / "overlays" / overlay)
        except RenderError as error:
            print(error)
            failed = True
            continue
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{overlay}.yaml").write_text(text)
        objects = [doc for doc in yaml.safe_load_all(text) if doc]
        problems = check(objects)
        for problem in problems:
            print(f"{overlay}: {problem}")
        print(f"{overlay}: {len(objects)} objects, {len(problems)} problem(s)", file=sys.stderr)
        failed |= bool(problems)
    return 1 if failed else 0
