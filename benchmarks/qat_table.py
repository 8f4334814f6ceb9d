"""The table of seed 000's Figure 3 (QAT vs post-training k-means) in docs/experiments.md, from a ``quant_study qat``
run's CSV:

    python benchmarks/qat_table.py results/quant-paper-cifar --dataset cifar
    python benchmarks/qat_table.py results/quant-paper-div2k-fig3

Per bit depth, PSNR (SSIM) of the decoded file averaged over the run's images (each image's own file) for
post-training quantization, QAT from the first step and QAT after half the epochs in float, and on how many images
QAT from the first step beats post-training; first, per image, the PSNR of its flat mean colour (what a collapsed
network gives) and of the float network. Prints Markdown.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from inrzip.experiments.quant_common import DATA_ROOT, mean_rows

METHODS = ("ptq", "qat", "qat-warm")
SOURCES = {"div2k": "div2k/downscaled_smiler96/{}.png", "cifar": "cifar10/foolbox_cifar10_test_first20/{}.png"}


def flat_psnr(dataset: str, image: str) -> float:
    """PSNR of the image's mean colour everywhere (8-bit RGB), the level a network collapsed to it reaches."""
    pixels = np.asarray(Image.open(DATA_ROOT / SOURCES[dataset].format(image)).convert("RGB"), dtype=np.float64)
    mse = np.mean((pixels - pixels.reshape(-1, 3).mean(axis=0)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def read(run: Path, dataset: str) -> list[dict[str, str]]:
    with open(run / "qat.csv") as f:
        return [r for r in csv.DictReader(f) if r["dataset"] == dataset]


def wins(rows: list[dict[str, str]], bits: int) -> tuple[int, int]:
    """(images where QAT's file beats post-training's, images with both) at ``bits``."""
    psnr = {(r["image"], r["method"]): float(r["psnr"]) for r in rows if int(r["bits"]) == bits}
    images = sorted({i for i, m in psnr if (i, "ptq") in psnr and (i, "qat") in psnr})
    return sum(psnr[(i, "qat")] > psnr[(i, "ptq")] for i in images), len(images)


def table(rows: list[dict[str, str]]) -> list[str]:
    """Markdown lines: one row per bit depth, the best method's cell in bold."""
    means = {(r["method"], int(r["bits"])): r for r in mean_rows(rows, ("method", "bits"), ("psnr", "ssim"))}
    lines = ["| bits | PTQ | QAT | QAT after 50% float epochs | QAT better than PTQ on |", "|---|---|---|---|---|"]
    for bits in sorted({b for _, b in means}):
        cells = {m: means[(m, bits)] for m in METHODS if (m, bits) in means}
        best = max(c["psnr"] for c in cells.values())
        text = [("**{}**" if m in cells and cells[m]["psnr"] == best else "{}").format(
            f"{cells[m]['psnr']:.2f} ({cells[m]['ssim']:.2f})" if m in cells else "-") for m in METHODS]
        won, n = wins(rows, bits)
        lines.append(f"| {bits} | {' | '.join(text)} | {won} of {n} images |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the --out folder of quant_study qat")
    ap.add_argument("--dataset", default="div2k")
    a = ap.parse_args(argv)
    rows = read(a.run, a.dataset)
    for image in sorted({r["image"] for r in rows}):
        floats = [float(r["float_psnr"]) for r in rows if r["image"] == image and r["method"] == "ptq"]
        print(f"{image}: flat mean colour {flat_psnr(a.dataset, image):.2f} dB, float network "
              f"{floats[0] if floats else float('nan'):.2f} dB")
    print()
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
