"""python -m devstack up|down|status|env [component ...]"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from .components import COMPONENTS, facts_path, load_facts, save_facts
from .process import Context, StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("components", nargs="*", help=f"default: all of {', '.join(COMPONENTS)}")
    args = parser.parse_args(argv)
    names = args.components or list(COMPONENTS)
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        parser.error(f"unknown component(s): {', '.join(unknown)}")
    ctx = Context.default()
    if args.command == "up":
        facts = load_facts(ctx)
        try:
            for name in names:
                facts.update(COMPONENTS[name].up(ctx))
                save_facts(ctx, facts)
        except (StackError, subprocess.CalledProcessError) as exc:
            print(f"[stack] {exc}", file=sys.stderr)
            return 1
        print(f"[stack] up: {', '.join(names)}; connection facts in {facts_path(ctx)}", file=sys.stderr)
        if "KUBECONFIG" in facts:
            print(f"[stack] kubeconfig: {facts['KUBECONFIG']}", file=sys.stderr)
        return 0
    if args.command == "down":
        for name in reversed(names):
            COMPONENTS[name].down(ctx)
        return 0
    if args.command == "status":
        for name in names:
            where = COMPONENTS[name].status(ctx)
            print(f"{name:10} {'up ' + where if where else 'down'}")
        return 0
    for key, value in sorted(load_facts(ctx).items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
