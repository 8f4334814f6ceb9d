"""The network per rate, measured off the test set: ``--bpp`` files of DIV2K photographs at several depths.

    python benchmarks/rate_table.py --bpp 0.1,0.3,0.5 --depths 5,7,9 --time-budget 60 --jobs 2 --out results/rate-table

For every image, target rate and depth, ``encode(image, bpp=B, arch=f"20x{depth}")`` (the plan keeps the depth
given with ``--arch`` and sizes the width for the rate; docs/rate.md), plus the shipped plan (``plan``, no
``--arch``). The rate-distortion issue asks for the choice of network per rate to come from images that are
not Kodak (our test set); the DIV2K validation photographs in ``../shared/data/div2k`` are used here.

Each fit runs in its own process at one thread (``--jobs`` at a time); rows are appended to ``rows.jsonl`` as
they finish and a rerun skips them. Writes ``rate_table.md`` (mean PSNR per (rate, depth) and the best depth
per rate) and ``rate_table.png`` (mean PSNR against depth, one panel per rate).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

DIV2K = ROOT.parent / "shared" / "data" / "div2k"
IMAGES = ("downscaled_smiler96/0801.png", "downscaled_smiler96/0829.png", "downscaled_smiler96/0845.png",
          "lr_bicubic_x4_edsr/0853x4.png")
PLAN = 0  # the "depth" of the shipped plan's row (no --arch)


def fit_one(path: str, bpp: float, depth: int, budget: float, rate_lambda: float = 0.0,
            efficiency: float | None = None) -> dict:
    """One ``--bpp`` file at ``depth`` (0: the plan's own choice), one thread; ``rate_lambda`` and ``efficiency``
    (coded bytes per raw byte the plan counts on) try entropy-aware training (docs/rate.md)."""
    from inrzip import api, ratecontrol
    from inrzip.config import CompressConfig, FitConfig

    if efficiency is not None:
        ratecontrol.EFFICIENCY = efficiency
    t0 = time.perf_counter()
    cfg = CompressConfig(bpp=bpp, arch=f"20x{depth}" if depth else None,
                         fit=FitConfig(time_budget=budget, threads=1, progress=False, rate_lambda=rate_lambda))
    r = api.encode(path, cfg).report
    return {"image": Path(path).stem, "target": bpp, "depth": depth, "arch": r["planned_arch"], "bpp": r["bpp"],
            "psnr": r["psnr"], "float_psnr": r["float_psnr"], "bits": r["bits"], "epochs": r["epochs"],
            "seconds": time.perf_counter() - t0}


def means_at(rows: list[dict], rate: float, cols: list[int]) -> tuple[dict[int, float], int]:
    """Mean PSNR per depth at ``rate`` over the images that have every depth of ``cols`` there (NaN: none), and
    how many images that is."""
    cell: dict[int, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["target"] == rate:
            cell[r["depth"]][r["image"]] = r["psnr"]
    common = set.intersection(*(set(cell[d]) for d in cols)) if cols else set()
    return {d: (sum(cell[d][i] for i in common) / len(common) if common else math.nan) for d in cols}, len(common)


def table(rows: list[dict], depths: list[int], rates: list[float], budget: float, with_plan: bool = True) -> str:
    """Mean PSNR per (rate, depth) over the images that have every depth at that rate, and the best depth."""
    archs: dict[tuple[float, int], set[str]] = defaultdict(set)
    for r in rows:
        archs[(r["target"], r["depth"])].add(r["arch"])
    cols = depths + ([PLAN] if with_plan else [])
    head = " | ".join(f"depth {d}" if d else "plan (shipped)" for d in cols)
    lines = [f"# Network per rate, DIV2K ({date.today()}, {budget:.0f} s per fit, one thread)", "",
             f"| target bpp | {head} | best depth | images |", "|---" * (len(cols) + 3) + "|"]
    for b in rates:
        means, n = means_at(rows, b, cols)
        best = max(depths, key=lambda d: means[d] if not math.isnan(means[d]) else -1e9)
        cells = " | ".join(f"{means[d]:.2f} ({'/'.join(sorted(archs[(b, d)]))})" for d in cols)
        lines.append(f"| {b} | {cells} | {best} | {n} |")
    lines += ["", "Mean decoded PSNR (dB) over the images with every column; the planned networks in brackets."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], depths: list[int], rates: list[float], path: Path, budget: float) -> None:
    """Mean decoded PSNR against depth, one panel per rate (the images every depth of that rate has)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rates), figsize=(3.2 * len(rates), 3.2), squeeze=False)
    for ax, b in zip(axes[0], rates):
        means, n = means_at(rows, b, depths)
        if not n:
            continue
        ax.plot(depths, [means[d] for d in depths], "o-")
        for d in depths:
            ax.annotate(f"{means[d]:.2f}", (d, means[d]), textcoords="offset points", xytext=(0, 5), ha="center",
                        fontsize=7)
        ax.set_title(f"{b} bpp, {n} photos", fontsize=9)
        ax.set_xlabel("hidden layers (width sized for the rate)")
        ax.set_xticks(depths)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean PSNR dB (decoded file)")
    fig.suptitle(f"--bpp MLP + PE by depth, DIV2K, {budget:.0f} s per fit", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from kodak_rd import run_pending

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=",".join(str(DIV2K / i) for i in IMAGES), help="comma-separated paths")
    ap.add_argument("--bpp", default="0.1,0.3,0.5")
    ap.add_argument("--depths", default="5,7,9")
    ap.add_argument("--time-budget", type=float, default=60.0)
    ap.add_argument("--no-plan", action="store_true", help="skip the shipped plan's row (no --arch)")
    ap.add_argument("--rate-lambda", type=float, default=0.0, help="entropy-aware training for every fit")
    ap.add_argument("--efficiency", type=float, default=None, help="coded/raw bytes the plan counts on (default 1)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "rate-table")
    a = ap.parse_args(argv)
    rates = [float(b) for b in a.bpp.split(",")]
    depths = [int(d) for d in a.depths.split(",")]
    a.out.mkdir(parents=True, exist_ok=True)
    tasks = {(Path(p).stem, b, d): (p, b, d, a.time_budget, a.rate_lambda, a.efficiency)
             for b in rates for p in a.images.split(",") for d in depths + ([] if a.no_plan else [PLAN])}
    rows = run_pending(a.out / "rows.jsonl", a.jobs, tasks, lambda r: (r["image"], r["target"], r["depth"]), fit_one,
                       lambda r: f"{r['image']} {r['target']} depth {r['depth'] or 'plan'}: {r['arch']} "
                                 f"{r['bpp']:.4f} bpp {r['psnr']:.2f} dB ({r['epochs']} epochs)")
    text = table(rows, depths, rates, a.time_budget, not a.no_plan)
    (a.out / "rate_table.md").write_text(text)
    plot(rows, depths, rates, a.out / "rate_table.png", a.time_budget)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
