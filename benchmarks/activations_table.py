"""The tables of seed 000's Figure 1 in docs/experiments.md, from a ``quant_study activations`` run's CSV:

    python benchmarks/activations_table.py results/quant-paper-div2k-fig1 [--bits 4,5,6,8] [--dataset div2k]

Per architecture, PSNR of the decoded file averaged over the run's images (each image's own file), per quantizer and
bit depth, one column per activation, the best activation of each row in bold. Prints Markdown.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from inrzip.experiments.quant_common import mean_rows

QUANTIZERS = ("kmeans", "minmax", "distributional", "explicit")
LABELS = {"kmeans": "k-means", "sine": "sine", "relu": "ReLU", "gauss": "Gaussian"}


def read(run: Path, dataset: str) -> tuple[dict[tuple, float], dict[tuple, float], set[str]]:
    """Means over the images: (arch, activation, quantizer, bits) -> PSNR; (arch, activation) -> float PSNR (every
    image has the same number of rows, so each counts once); the images."""
    with open(run / "activations.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] == dataset]
    coded = {(r["arch"], r["activation"], r["quantizer"], int(r["bits"])): r["psnr"]
             for r in mean_rows(rows, ("arch", "activation", "quantizer", "bits"), ("psnr",))}
    floats = {(r["arch"], r["activation"]): r["float_psnr"]
              for r in mean_rows(rows, ("arch", "activation"), ("float_psnr",))}
    return coded, floats, {r["image"] for r in rows}


def row(cells: dict[str, float]) -> list[str]:
    best = max(cells.values())
    return [f"**{v:.2f}**" if v == best else f"{v:.2f}" for v in cells.values()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the --out folder of quant_study activations")
    ap.add_argument("--bits", default="4,5,6,8")
    ap.add_argument("--dataset", default="div2k")
    a = ap.parse_args(argv)
    bits = [int(b) for b in a.bits.split(",")]
    coded, floats, images = read(a.run, a.dataset)
    archs = sorted({k[0] for k in coded}, key=lambda s: [int(p) for p in s.split("x")][::-1])
    acts = [x for x in LABELS if any(k[1] == x for k in coded)]
    print(f"images: {', '.join(sorted(images))} (means over {len(images)})\n")
    for arch in archs:
        print(f"**{arch}**\n\n| quantizer, bits | {' | '.join(LABELS[x] for x in acts)} |\n|---|{'---|' * len(acts)}")
        print(f"| float | {' | '.join(row({x: floats[(arch, x)] for x in acts}))} |")
        for q in QUANTIZERS:
            per_bits = [row({x: coded[(arch, x, q, b)] for x in acts}) for b in bits]
            cols = [" / ".join(cells[i] for cells in per_bits) for i in range(len(acts))]
            print(f"| {LABELS.get(q, q)} {' / '.join(map(str, bits))} | {' | '.join(cols)} |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
