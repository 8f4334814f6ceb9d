"""Decoding between the samples: the super-resolution protocol of docs/resolution.md.

    python benchmarks/super_resolution.py --images kodim03,kodim06,kodim09,kodim12,kodim15,kodim18,kodim21,kodim24 \
        --bands nyquist,full --out results/superres

Each photograph is box-downscaled 2x, compressed with the defaults (or ``--epochs``), and decoded at
``--scale 2``; the decode is scored against the full-resolution original (PSNR, SSIM) beside bicubic and
Lanczos upsamplings of the 1x decode and of the downscaled original. Stripes are measured as the mean
absolute difference between neighbouring rows and between neighbouring columns, in 8-bit levels. Writes
``superres.json`` (settings and rows), ``superres.md`` (per-image table and medians) and crops side
by side (``superres_<image>.png``) under ``--out``; ``--save-files`` keeps the compressed files there too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.api import CompressConfig, FitConfig, decompress, encode  # noqa: E402
from inrzip.metrics import psnr, ssim  # noqa: E402
from inrzip.signals.image import ImageSignal  # noqa: E402

KODAK_SUBSET = "kodim03,kodim06,kodim09,kodim12,kodim15,kodim18,kodim21,kodim24"


def box_down2(rgb: np.ndarray) -> np.ndarray:
    """2x2 box average (even size), rounded to 8 bits: the 'photograph at half resolution'."""
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    a = rgb[:h, :w].astype(np.float64).reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def upsample(rgb: np.ndarray, size: tuple[int, int], method: int) -> np.ndarray:
    """PIL resize to (width, height) with ``method`` (Image.BICUBIC, Image.LANCZOS)."""
    return np.asarray(Image.fromarray(rgb).resize(size, method))


def stripes(rgb: np.ndarray) -> tuple[float, float]:
    """Mean |difference| between neighbouring rows and between neighbouring columns, in levels."""
    a = rgb.astype(np.float64)
    return float(np.abs(np.diff(a, axis=0)).mean()), float(np.abs(np.diff(a, axis=1)).mean())


def score(rec: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    rows, cols = stripes(rec)
    return {"psnr": psnr(rec / 255.0, ref / 255.0), "ssim": ssim(rec / 255.0, ref / 255.0), "row_diff": rows,
            "col_diff": cols}


def one_image(path: Path, band: str, args: argparse.Namespace) -> tuple[list[dict], dict[str, np.ndarray]]:
    original = np.asarray(Image.open(path).convert("RGB"))
    h2, w2 = original.shape[0] // 2 * 2, original.shape[1] // 2 * 2
    original = original[:h2, :w2]
    small = box_down2(original)
    fit = FitConfig(progress=False, threads=args.threads,
                    **({"epochs": args.epochs} if args.epochs else {}))
    t0 = time.perf_counter()
    span = tuple(int(e) for e in args.jitter_epochs.split(":")) if args.jitter_epochs else None
    signal = ImageSignal(small.astype(np.float32) / 255.0, jitter=args.jitter, jitter_share=args.jitter_share,
                         jitter_epochs=span)
    enc = encode(signal, CompressConfig(pe_band=band, fit=fit))
    fit_s = time.perf_counter() - t0
    if args.save_files:
        (args.out / f"{path.stem}_{band}.inr").write_bytes(enc.data)
    dec1 = decompress(enc.data)
    dec2 = decompress(enc.data, scale=2)
    size = (w2, h2)
    candidates = {
        "inrzip --scale 2": dec2,
        "bicubic(1x decode)": upsample(dec1, size, Image.BICUBIC),
        "lanczos(1x decode)": upsample(dec1, size, Image.LANCZOS),
        "bicubic(downscaled)": upsample(small, size, Image.BICUBIC),
        "lanczos(downscaled)": upsample(small, size, Image.LANCZOS),
    }
    base = {"image": path.stem, "band": band, "bpp_1x": enc.report["bpp"], "psnr_1x": enc.report["psnr"],
            "fit_seconds": round(fit_s, 1), "epochs": enc.report["epochs"]}
    rows = [{**base, "method": name, **score(rec, original)} for name, rec in candidates.items()]
    return rows, {"original": original, **candidates}


def crops_figure(images: dict[str, np.ndarray], path: Path, side: int = 96) -> None:
    """The same central patch of every candidate, side by side, enlarged 3x with nearest neighbours."""
    h, w = images["original"].shape[:2]
    top, left = (h - side) // 2, (w - side) // 2
    tiles = [np.asarray(Image.fromarray(img[top:top + side, left:left + side]).resize((side * 3, side * 3),
                                                                                      Image.NEAREST))
             for img in images.values()]
    Image.fromarray(np.concatenate(tiles, axis=1)).save(path)


def summary(rows: list[dict]) -> str:
    lines = ["| image | band | method | PSNR dB | SSIM | row diff | col diff |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | {r['band']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} "
                     f"| {r['row_diff']:.2f} | {r['col_diff']:.2f} |")
    lines += ["", "| band | method | median PSNR dB | median SSIM | median row diff | median col diff |",
              "|---|---|---|---|---|---|"]
    keys = sorted({(r["band"], r["method"]) for r in rows})
    for band, method in keys:
        g = [r for r in rows if r["band"] == band and r["method"] == method]
        med = {k: float(np.median([r[k] for r in g])) for k in ("psnr", "ssim", "row_diff", "col_diff")}
        lines.append(f"| {band} | {method} | {med['psnr']:.2f} | {med['ssim']:.4f} | {med['row_diff']:.2f} "
                     f"| {med['col_diff']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default=KODAK_SUBSET, help="comma list of file stems in --data")
    ap.add_argument("--bands", default="nyquist,full")
    ap.add_argument("--epochs", type=int, help="default: the compressor's own default")
    ap.add_argument("--jitter", type=float, default=0.0,
                    help="train on samples moved up to +-jitter/2 pixel with bicubic targets (ImageSignal)")
    ap.add_argument("--jitter-share", type=float, default=1.0, help="share of each epoch's samples that --jitter moves")
    ap.add_argument("--jitter-epochs", default=None, metavar="START:STOP",
                    help="jitter only epochs START..STOP-1 (with --epochs; e.g. 210:300 for the last 30%% of 300)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save-files", action="store_true", help="keep each compressed file (<image>_<band>.inr) in --out")
    ap.add_argument("--out", type=Path, default=Path("results/superres"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for stem in a.images.split(","):
        for band in a.bands.split(","):
            new, images = one_image(a.data / f"{stem}.png", band, a)
            rows += new
            crops_figure(images, a.out / f"superres_{stem}_{band}.png")
            for r in new:
                print(f"{r['image']} {band:8} {r['method']:22} {r['psnr']:6.2f} dB  rows {r['row_diff']:5.2f} "
                      f"cols {r['col_diff']:5.2f}", flush=True)
            (a.out / "superres.md").write_text(summary(rows))
            with open(a.out / "superres.json", "w") as fh:
                json.dump({"argv": sys.argv[1:], "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
                           "rows": rows}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
