"""Put several runs of ``time_to_quality.py`` side by side: one reference (the ``baseline`` or ``recipe`` of some
runs) and named curves (the ``inrzip`` points of other runs, e.g. two versions of the code, merged by image).

    python benchmarks/ttq_merge.py --ref results/ttq-doh-weights-a results/ttq-doh-weights-b \
        --curve latent=results/ttq-doh-latent-a,results/ttq-doh-latent-b \
        --curve weights=results/ttq-doh-weights-a,results/ttq-doh-weights-b,results/ttq-doh-weights300-a,... \
        --out results/ttq-doh-weights
    python benchmarks/ttq_merge.py ... --curve "no fine-tuning=results/ttq-doh-ft-a@nofinetune,..." ...

Per image: the reference's PSNR at T, each curve's decoded PSNR at its budgets, the seconds it needs to reach the
reference (log-time interpolation, as ``time_to_quality.py``) and the speed-up T / that; then the medians, and the
gain of the last curve over the first at each budget both have. Writes ``ttq_merge.md`` and ``ttq_merge.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from time_to_quality import psnr_at, time_to  # noqa: E402


def rows_of(folder: Path) -> list[dict]:
    files = sorted(folder.glob("ttq_*.json"))
    if not files:
        raise SystemExit(f"{folder}: no ttq_*.json (run benchmarks/time_to_quality.py --out {folder})")
    return [r for f in files for r in json.loads(f.read_text())["rows"]]


def merged(folders: list[Path], key: str) -> dict[str, list[tuple[float, float]]]:
    """image -> the points under ``key`` of every run, sorted by time (a later run's point at a time replaces).
    A folder written ``RUN@METHOD`` gives that method's points instead (e.g. ``@nofinetune``)."""
    out: dict[str, dict[float, float]] = {}
    for spec in folders:
        folder, _, method = str(spec).partition("@")
        for r in rows_of(Path(folder)):
            for t, p in r.get(method or key) or []:
                out.setdefault(r["image"], {})[round(t)] = p
    return {k: sorted(v.items()) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", type=Path, nargs="+", required=True, help="runs holding the reference")
    ap.add_argument("--ref-key", default="baseline", choices=["baseline", "recipe"])
    ap.add_argument("--T", type=float, default=300.0)
    ap.add_argument("--curve", action="append", required=True,
                    help="NAME=RUN[,RUN...] (their inrzip points; RUN@METHOD: that method's, e.g. @nofinetune)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    ref = merged(a.ref, a.ref_key)
    curves = {spec.split("=", 1)[0]: merged([Path(p) for p in spec.split("=", 1)[1].split(",")], "inrzip")
              for spec in a.curve}
    images = [im for im in ref if all(im in c for c in curves.values())]
    if not images:
        raise SystemExit(f"no image has both a `{a.ref_key}` reference and every curve's points (is --ref-key right?)")
    budgets = {n: sorted({t for im in images for t, _ in c[im]}) for n, c in curves.items()}
    head = "| image | ref @ T | " + " | ".join(f"{n} {t:g} s" for n in curves for t in budgets[n]) \
        + " | " + " | ".join(f"{n}: time to ref, speed-up" for n in curves) + " |"
    lines = [f"Reference: `{a.ref_key}` at T = {a.T:g} s; decoded PSNR (dB) of each curve's file at its budgets", "",
             head, "|---" * (head.count("|") - 1) + "|"]
    speed: dict[str, list[float]] = {n: [] for n in curves}
    for im in images:
        target = psnr_at(ref[im], a.T)
        cells = [f"{psnr_at(c[im], t):.2f}" for n, c in curves.items() for t in budgets[n]]
        times = []
        for n, c in curves.items():
            t = time_to(c[im], target)
            if math.isfinite(t):
                speed[n].append(a.T / t)
                times.append(f"{t:.0f} s, {a.T / t:.1f}x")
            else:  # not reached by the longest budget: the speed-up is below T / that budget
                speed[n].append(a.T / max(budgets[n]))
                times.append(f"not by {max(budgets[n]):g} s, < {a.T / max(budgets[n]):.1f}x")
        lines.append(f"| {im} | {target:.2f} | " + " | ".join(cells + times) + " |")
    lines += [""] + [f"- {n}: median speed-up {np.median(s):.1f}x (min {min(s):.1f}x, max {max(s):.1f}x; an image "
                     f"not reached counts as T / its longest budget, an upper bound)" for n, s in speed.items()]
    first, last = list(curves)[0], list(curves)[-1]
    common = [t for t in budgets[first] if t in budgets[last]]
    if first != last and common:
        gains = {t: [psnr_at(curves[last][im], t) - psnr_at(curves[first][im], t) for im in images] for t in common}
        lines.append(f"- {last} minus {first} at equal budget, median (min..max): " + "; ".join(
            f"{t:g} s {np.median(g):+.2f} ({min(g):+.2f}..{max(g):+.2f})" for t, g in gains.items()))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "ttq_merge.md").write_text("\n".join(lines) + "\n")
    plot(images, ref, curves, a)
    print("\n".join(lines))
    return 0


def plot(images: list[str], ref: dict, curves: dict, a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3), squeeze=False)
    styles = ["bs--", "ro-", "m^-", "c*-"]
    for ax, im in zip(axes[0], images):
        ax.axhline(psnr_at(ref[im], a.T), color="g", label=f"{a.ref_key} at {a.T:g} s")
        for (name, c), style in zip(curves.items(), styles):
            ax.plot([t for t, _ in c[im]], [p for _, p in c[im]], style, label=name, ms=3)
        ax.set_xscale("log")
        ax.set_title(im, fontsize=8)
        ax.set_xlabel("seconds of fitting (budget)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("decoded PSNR dB")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out / "ttq_merge.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
