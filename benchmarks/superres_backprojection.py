"""Decoder-side corrections of a 2x decode, measured against the original (docs/resolution.md, "Correcting the
2x decode against the 1x decode").

    python benchmarks/superres_backprojection.py ../shared/data/div2k/downscaled_smiler96/0845.png \
        ../shared/data/kodak/kodim12.png [--out DIR]

Each photograph is box-downscaled 2x and compressed with the defaults (the file is kept under ``--out`` and reused
by a rerun). Its ``--scale 2`` decode is scored beside the bicubic upsampling of the 1x decode, back-projection
(``x += bicubic_up(decode_1x - box_down(x))``, 1-3 steps), blends of the two, and bicubic plus only the small part
of the network's detail (its difference to bicubic clipped to +-tau levels, or shrunk by 1 / (1 + (d / tau)^2)),
with the row / column differences.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from super_resolution import box_down2, score  # noqa: E402

from inrzip.api import CompressConfig, FitConfig, decompress, encode  # noqa: E402
from inrzip.signals.image import ImageSignal  # noqa: E402


def box_down(a: np.ndarray) -> np.ndarray:
    """2x2 box average in float (no rounding): the model of how the 1x image relates to the 2x one."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    return a[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))


def bicubic_up(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Float bicubic upsampling per channel (PIL mode F), so corrections are not rounded to 8 bits."""
    return np.stack([np.asarray(Image.fromarray(a[..., c].astype(np.float32), mode="F").resize(size, Image.BICUBIC))
                     for c in range(a.shape[2])], -1)


def variants(d1: np.ndarray, d2: np.ndarray, size: tuple[int, int]) -> dict[str, np.ndarray]:
    out = {"inrzip --scale 2": d2, "bicubic(1x decode)": bicubic_up(d1, size)}
    x = d2.copy()
    for step in range(1, 4):
        x = x + bicubic_up(d1 - box_down(x), size)
        out[f"back-projected, {step} step(s)"] = x.copy()
    for share in (0.25, 0.5, 0.75):
        out[f"blend {share}"] = share * d2 + (1 - share) * out["bicubic(1x decode)"]
    b = out["blend 0.5"]
    out["blend 0.5 + back-projection"] = b + bicubic_up(d1 - box_down(b), size)
    detail = d2 - out["bicubic(1x decode)"]  # what the network adds to bicubic; keep only its small part
    for tau in (2, 4, 8):
        out[f"bicubic + detail clipped to +-{tau}"] = out["bicubic(1x decode)"] + np.clip(detail, -tau, tau)
        out[f"bicubic + detail shrunk, tau {tau}"] = out["bicubic(1x decode)"] + detail / (1 + (detail / tau) ** 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("results/superres_backprojection"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    for path in a.images:
        original = np.asarray(Image.open(path).convert("RGB"))
        h2, w2 = original.shape[0] // 2 * 2, original.shape[1] // 2 * 2
        original = original[:h2, :w2]
        small = box_down2(original)
        inr = a.out / f"{path.stem}.inr"
        if not inr.exists():
            fit = FitConfig(progress=False, threads=a.threads)
            inr.write_bytes(encode(ImageSignal(small.astype(np.float32) / 255.0), CompressConfig(fit=fit)).data)
        data = inr.read_bytes()
        d1, d2 = decompress(data).astype(np.float64), decompress(data, scale=2).astype(np.float64)
        print(f"{path.stem}: 1x decode {score(d1.astype(np.uint8), small)['psnr']:.2f} dB against the downscaled")
        for name, rec in variants(d1, d2, (w2, h2)).items():
            s = score(np.clip(np.rint(rec), 0, 255).astype(np.uint8), original)
            print(f"  {name:32s} {s['psnr']:.3f} dB  SSIM {s['ssim']:.4f}  rows {s['row_diff']:.2f}  "
                  f"cols {s['col_diff']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
