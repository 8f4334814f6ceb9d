"""The table of seed 000's Figure 3 (QAT vs post-training k-means) in docs/experiments.md, from a ``quant_study qat``
run's CSV:

    python benchmarks/qat_table.py results/quant-paper-cifar --dataset cifar
    python benchmarks/qat_table.py results/quant-paper-div2k-fig3
    python benchmarks/qat_table.py results/quant-paper-div2k-fig3 --codebook best   # what inrzip writes by default

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
from inrzip.metrics import psnr

METHODS = ("ptq", "qat", "qat-warm")
SOURCES = {"div2k": "div2k/downscaled_smiler96/{}.png", "cifar": "cifar10/foolbox_cifar10_test_first20/{}.png"}


def flat_psnr(dataset: str, image: str) -> float:
    """PSNR of the image's mean colour everywhere (8-bit RGB), the level a network collapsed to it reaches."""
    pixels = np.asarray(Image.open(DATA_ROOT / SOURCES[dataset].format(image)).convert("RGB"), dtype=np.float64)
    return psnr(np.broadcast_to(pixels.reshape(-1, 3).mean(axis=0), pixels.shape), pixels, peak=255.0)


def with_codebook(rows: list[dict[str, str]], codebook: str) -> list[dict[str, str]]:
    """QAT rows scored with the codebook asked for: ``training`` (the paper's, the run's ``psnr``), ``fresh``
    (k-means refitted on the final weights, ``refit_psnr``) or ``best`` (the better of the two, what ``inrzip``
    writes by default). Only ``training`` has an SSIM."""
    if codebook == "training":
        return rows
    pick = {"fresh": lambda r: float(r["refit_psnr"]),
            "best": lambda r: max(float(r["psnr"]), float(r["refit_psnr"]))}[codebook]
    return [r if r["method"] == "ptq" else {**r, "psnr": str(pick(r)), "ssim": "nan"} for r in rows]


def fresh_wins(rows: list[dict[str, str]]) -> list[str]:
    """Per QAT method and depth, on how many images the refitted codebook decodes better than the training one."""
    groups: dict[tuple[str, int], list[dict[str, str]]] = {}
    for r in rows:
        if r["method"] != "ptq":
            groups.setdefault((r["method"], int(r["bits"])), []).append(r)
    return [f"{m} {b} bits: fresh codebook better on "
            f"{sum(float(r['refit_psnr']) > float(r['psnr']) for r in group)} of {len(group)} images"
            for (m, b), group in sorted(groups.items())]


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
            _cell(cells[m]) if m in cells else "-") for m in METHODS]
        won, n = wins(rows, bits)
        lines.append(f"| {bits} | {' | '.join(text)} | {won} of {n} images |")
    return lines


def _cell(c: dict[str, float]) -> str:
    return f"{c['psnr']:.2f}" + ("" if np.isnan(c["ssim"]) else f" ({c['ssim']:.2f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the --out folder of quant_study qat")
    ap.add_argument("--dataset", default="div2k")
    ap.add_argument("--codebook", default="training", choices=("training", "fresh", "best"),
                    help="which codebook QAT's files are scored with (default: the paper's, training)")
    a = ap.parse_args(argv)
    rows = read(a.run, a.dataset)
    for image in sorted({r["image"] for r in rows}):
        floats = [float(r["float_psnr"]) for r in rows if r["image"] == image and r["method"] == "ptq"]
        print(f"{image}: flat mean colour {flat_psnr(a.dataset, image):.2f} dB, float network "
              f"{floats[0] if floats else float('nan'):.2f} dB")
    print()
    print("\n".join(table(with_codebook(rows, a.codebook))))
    if a.codebook != "training":
        print("\n" + "\n".join(fresh_wins(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
