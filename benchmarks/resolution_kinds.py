"""Decoding at twice the fitted resolution for the other signal kinds: occupancy grids and NeRF views.

    python benchmarks/resolution_kinds.py occupancy --mesh ../shared/data/meshes/bunny_decimated_5k_instantngp.obj \
        --resolution 64 --time-budget 120 --out results/resolution_kinds
    python benchmarks/resolution_kinds.py radiance --scene ../shared/data/nerf/blender_lego --size 50 \
        --time-budget 600 --out results/resolution_kinds

Occupancy: one fit at ``--resolution`` N per PE band (nyquist, full), decoded at N and at 2N; IoU against the
ground truth at each grid (winding numbers), beside nearest-neighbour upsampling of the N decode, and the
surface roughness (mean |difference| of the occupancy between neighbouring voxels, per axis, over the grid).
Radiance: one fit at ``--size``; the held-out views rendered at 1x and 2x, PSNR/SSIM against the scene's views
at each size, beside a bicubic upsampling of the 1x render; row/column differences in 8-bit levels.
Writes ``<kind>.json`` and ``<kind>.md`` under ``--out``.
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

from inrzip.api import CompressConfig, FitConfig, decode, encode, load  # noqa: E402
from inrzip.metrics import iou, psnr, ssim  # noqa: E402


def roughness(grid: np.ndarray) -> float:
    """Fraction of neighbouring voxel pairs that differ: surface area per voxel; ripples raise it."""
    g = grid.astype(np.int8)
    return float(np.mean([np.abs(np.diff(g, axis=a)).mean() for a in range(3)]))


def occupancy(a: argparse.Namespace) -> list[dict]:
    truth = {n: load(a.mesh, resolution=n).grid for n in (a.resolution, 2 * a.resolution)}
    rows = []
    for band in ("nyquist", "full"):
        fit = FitConfig(progress=False, time_budget=a.time_budget, threads=a.threads)
        enc = encode(load(a.mesh, resolution=a.resolution), CompressConfig(pe_band=band, fit=fit))
        one = decode(enc.data)[1]
        two = decode(enc.data, resolution=2 * a.resolution)[1]
        nearest = one.repeat(2, 0).repeat(2, 1).repeat(2, 2)
        for name, grid, n in (("1x decode", one, a.resolution), ("2x decode", two, 2 * a.resolution),
                              ("nearest(1x decode)", nearest, 2 * a.resolution)):
            rows.append({"band": band, "method": name, "resolution": n, "iou": iou(grid, truth[n]),
                         "roughness": roughness(grid), "truth_roughness": roughness(truth[n]),
                         "file_bytes": enc.report["file_bytes"], "epochs": enc.report["epochs"]})
            print(rows[-1], flush=True)
    return rows


def _stripes(views: np.ndarray) -> tuple[float, float]:
    a = np.clip(np.rint(views * 255.0), 0, 255)
    return float(np.abs(np.diff(a, axis=1)).mean()), float(np.abs(np.diff(a, axis=2)).mean())


def _bicubic(views: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    out = [np.asarray(Image.fromarray(np.clip(np.rint(v * 255), 0, 255).astype(np.uint8)).resize(size, Image.BICUBIC))
           for v in views]
    return np.stack(out).astype(np.float32) / 255.0


def _score(views: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    rows, cols = _stripes(views)
    return {"psnr": float(np.mean([psnr(v, t) for v, t in zip(views, truth)])),
            "ssim": float(np.mean([ssim(v, t) for v, t in zip(views, truth)])), "row_diff": rows, "col_diff": cols}


def radiance(a: argparse.Namespace) -> list[dict]:
    signal = load(a.scene, size=a.size, progress=False)
    big = load(a.scene, size=2 * a.size, progress=False).scene.splits["test"].images
    small = signal.scene.splits["test"].images
    enc = encode(signal, CompressConfig(fit=FitConfig(progress=True, time_budget=a.time_budget, threads=a.threads)))
    one = decode(enc.data, progress=False)[1]
    two = decode(enc.data, scale=2, progress=False)[1]
    rows = [{"method": "1x render", "size": a.size, **_score(one, small)},
            {"method": "2x render", "size": 2 * a.size, **_score(two, big)},
            {"method": "bicubic(1x render)", "size": 2 * a.size, **_score(_bicubic(one, big.shape[2:0:-1]), big)},
            {"method": "2x ground truth", "size": 2 * a.size, **_score(big, big)}]
    for r in rows:
        r.update(file_bytes=enc.report["file_bytes"], epochs=enc.report["epochs"])
        print(r, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["occupancy", "radiance"])
    ap.add_argument("--mesh", type=Path, default=ROOT.parent / "shared/data/meshes/bunny_decimated_5k_instantngp.obj")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--scene", type=Path, default=ROOT.parent / "shared/data/nerf/blender_lego")
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--time-budget", type=float, default=120.0)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--out", type=Path, default=Path("results/resolution_kinds"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(a.threads or torch.get_num_threads())
    rows = occupancy(a) if a.kind == "occupancy" else radiance(a)
    (a.out / f"{a.kind}.json").write_text(json.dumps({"argv": sys.argv[1:], "date": time.strftime("%Y-%m-%d"),
                                                       "torch": torch.__version__, "rows": rows}, indent=1))
    keys = [k for k in rows[0] if k not in ("file_bytes",)]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(f"{r[k]:.4f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |"
              for r in rows]
    (a.out / f"{a.kind}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
