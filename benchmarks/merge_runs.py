"""Put experiment runs side by side (the merged tables and plots of docs/experiments.md, 2026-12-05):

    python benchmarks/merge_runs.py table2 results/occupancy-table2-armadillo results/occupancy-table2-dragon \
        --time-budget 300 --out results/occupancy-table2
    python benchmarks/merge_runs.py rd results/doh-div2k/doh-div2k_mean.csv results/doh-div2k-weights/doh-div2k_mean.csv \
        --title "DIV2K, 3 images, 90 s per fit: D'OH on its weights vs before" --out results/doh-div2k-weights/doh-div2k-vs-before.png

``table2``: per-shape ``occupancy_table`` runs (one process per shape) as one Table 2 (CSV, markdown, plot).
``rd``: an image experiment's means before (its MLP rows and its D'OH rows, relabelled) and a D'OH-only rerun.
``means``: every row of several runs' means on one plot (``--min-bits``, default 5; 0 keeps all).
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.experiments import occupancy_table as t2  # noqa: E402
from inrzip.experiments.image_common import plot_rd  # noqa: E402
from inrzip.experiments.occupancy_rd import plot_table2  # noqa: E402


def merge_table2(runs: list[Path], time_budget: float, out: Path) -> None:
    every = replace(t2.Settings(), shapes=(), models=())  # redo nothing: keep every row of each run
    rows = [r for run in runs for r in t2._previous_rows(run, every)]
    t2._write(rows, replace(t2.Settings(), time_budget=time_budget), out)
    plot_table2(rows, out / "table2.png")
    print((out / "table2.md").read_text())


def _means(path: Path) -> list[dict]:
    return [{**r, "psnr": float(r["psnr"]), "bpp": float(r["bpp"]), "bits": int(r["bits"])}
            for r in csv.DictReader(open(path))]


def merge_rd(before: Path, after: Path, title: str, out: Path, min_bits: int = 5,
             before_label: str = "latent, before") -> None:
    old = _means(before)
    rows = ([r for r in old if r["method"] != "doh"] + [{**r, "method": f"doh ({before_label})"} for r in old
            if r["method"] == "doh"] + [r for r in _means(after) if r["method"] == "doh"])
    plot_rd([r for r in rows if r["bits"] >= min_bits], out, title)
    print("wrote", out)


def merge_means(means: list[Path], title: str, out: Path, min_bits: int = 5) -> None:
    """Every method of several runs of one image experiment (e.g. a rerun of one new method) on one plot."""
    plot_rd([r for path in means for r in _means(path) if r["bits"] >= min_bits], out, title)
    print("wrote", out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table2")
    t.add_argument("runs", nargs="+", type=Path)
    t.add_argument("--time-budget", type=float, required=True, help="the runs' seconds per fit (for the caption)")
    t.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("rd")
    r.add_argument("before", type=Path)
    r.add_argument("after", type=Path)
    r.add_argument("--title", required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--before-label", default="latent, before", help="what the before run's D'OH curves are called")
    m = sub.add_parser("means")
    m.add_argument("means", nargs="+", type=Path, help="the runs' *_mean.csv")
    m.add_argument("--title", required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--min-bits", type=int, default=5)
    a = ap.parse_args(argv)
    if a.what == "table2":
        merge_table2(a.runs, a.time_budget, a.out)
    elif a.what == "means":
        merge_means(a.means, a.title, a.out, a.min_bits)
    else:
        merge_rd(a.before, a.after, a.title, a.out, before_label=a.before_label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
