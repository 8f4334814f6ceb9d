"""The table of seed 000's Figures 7-8 in docs/experiments.md, from a ``quant_study convergence`` run's CSVs:

    python benchmarks/convergence_table.py results/quant-paper-div2k-2000 [--steps 50,100,200,500,1000,2000]

Per run: the training PSNR (full batch, so exact) at the given steps, the first step reaching 18 and 20 dB, and the
PSNR of its explicit 16-bit file (``convergence_final.csv``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def first_reaching(curve: dict[int, float], level: float) -> str:
    return next((str(e) for e in sorted(curve) if curve[e] >= level), "-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the --out folder of quant_study convergence")
    ap.add_argument("--steps", default="50,100,200,500,1000,2000")
    a = ap.parse_args(argv)
    steps = [int(s) for s in a.steps.split(",")]
    curves: dict[str, dict[int, float]] = defaultdict(dict)
    with open(a.run / "convergence.csv") as f:
        for row in csv.DictReader(f):
            curves[row["run"]][int(row["epoch"])] = float(row["train_psnr"])
    with open(a.run / "convergence_final.csv") as f:
        files = {row["run"]: float(row["psnr"]) for row in csv.DictReader(f)}
    print(f"| run | PSNR at step {' / '.join(map(str, steps))} | steps to 18 / 20 dB | explicit 16-bit file |")
    print("|---|---|---|---|")
    for run, curve in curves.items():
        at = " / ".join(f"{curve[s]:.2f}" if s in curve else "-" for s in steps)
        print(f"| {run} | {at} | {first_reaching(curve, 18.0)} / {first_reaching(curve, 20.0)} | {files.get(run, float('nan')):.2f} dB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
