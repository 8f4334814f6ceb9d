"""``python -m inrzip.experiments NAME [--quick] [--out DIR] [experiment options]`` and ``--list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

from ..errors import InrzipError
from .runner import load_all, run_experiment


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m inrzip.experiments",
                                description="Reproduce a figure or table of the supplements (docs/experiments.md).")
    p.add_argument("name", nargs="?", help="experiment name (see --list)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--quick", action="store_true", help="the same code at a tiny size, in seconds")
    p.add_argument("--out", type=Path, help="output folder (default results/NAME)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args, rest = p.parse_known_args(argv)
    registry = load_all()
    if args.list or not args.name:
        width = max(len(n) for n in registry)
        for name, exp in registry.items():
            print(f"{name:<{width}}  {exp.help}")
        return 0 if args.list else 2
    torch.set_num_threads(max(1, args.threads))
    try:
        out = run_experiment(args.name, args.quick, args.out, rest)
    except InrzipError as e:
        print(f"inrzip: error: {e}", file=sys.stderr)
        return 2
    print(f"{args.name}: results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
