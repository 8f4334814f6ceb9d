"""Supplement Figures 5/6 rows on one scene: a 4x64 ReLU+PE NeRF, four quantizers at 3 bits, PTQ and QAT.

    python -m inrzip.experiments.nerf_quant                                    # lego, 100x100, 10-min fit
    python -m inrzip.experiments.nerf_quant --scene llff_fern --time-budget 300

One float fit (``--time-budget`` seconds on CPU); post-training quantization writes one ``.inr`` per
quantizer from it; QAT continues a copy of the float network for ``--qat-seconds`` with each quantizer
in the loop (straight-through) and stores the tables training saw. Every row is a real file decoded
back: PSNR/SSIM are the mean over the held-out views rendered from the decoded bytes, kB = file bytes
/ 1000. Writes ``<scene>.csv`` / ``.json`` (settings) / ``.md`` (ours beside the paper's means), the
``.inr`` files and a figure of the first held-out view under ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..api import decode, write
from ..config import FitConfig
from ..signals.radiance import RadianceSignal
from .quant_common import DATA_ROOT, QUANTIZER_ORDER, Fitted, continue_fit, fit_network, save_figure, write_rows

__all__ = ["Settings", "PAPER_MEANS", "run", "main"]

Row = dict[str, Any]

# Supplement Figures 5/6 (3 bits, 4 hidden layers of 64): means over 8 Blender / 7 LLFF scenes, (PSNR dB, kB).
PAPER_MEANS: dict[str, dict[str, tuple[float, float]]] = {
    "blender": {"kmeans": (24.64, 15.8), "distributional": (22.62, 13.3), "minmax": (22.81, 11.2), "explicit": (23.73, 14.5)},
    "llff": {"kmeans": (18.63, 15.5), "distributional": (17.52, 13.3), "minmax": (17.49, 11.3), "explicit": (18.59, 16.1)},
}


@dataclass
class Settings:
    """One run; saved as JSON beside the results so every number can be regenerated."""

    scene: str = "blender_lego"  # folder under ../shared/data/nerf, or a path
    size: int = 100  # longest image side
    arch: str = "64x4"  # the supplement's 4 hidden layers of 64 (WIDTHxHIDDEN)
    samples: int = 32  # stratified samples per ray (32 beat 64 at equal CPU time: docs/nerf.md)
    fine: int = 0  # importance samples per ray (0: off; 16+16 lost to 32+0 at equal time)
    bits: int = 3
    quantizers: tuple[str, ...] = QUANTIZER_ORDER
    time_budget: float = 600.0  # float fit, seconds
    epochs: int = 1000  # cap; an epoch is ``rays_per_epoch`` rays
    rays_per_epoch: int = 1 << 16
    batch_size: int = 512  # rays per step
    lr: float = 2e-3
    gamma: float = 0.98  # LR decay per epoch
    qat: bool = True
    qat_seconds: float = 120.0
    qat_lr: float = 5e-4
    threads: int = 1
    seed: int = 0
    out: Path = field(default_factory=lambda: Path("results/nerf"))

    def scene_path(self) -> Path:
        p = Path(self.scene)
        return p if p.is_dir() else DATA_ROOT / "nerf" / self.scene


def _fit_config(s: Settings) -> FitConfig:
    return FitConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, betas=(0.9, 0.999), gamma=s.gamma,
                     time_budget=s.time_budget, progress=True, engine="reference", threads=s.threads)


def _write(f: Fitted, quantizer: str, bits: int, path: Path) -> tuple[Row, np.ndarray]:
    """Write ``f`` as an .inr file (``api.write``: decoded and scored on the held-out views) and render its
    first held-out view for the figure."""
    enc = write(f, bits, quantizer)
    enc.save(path)
    r, sizes = enc.report, enc.sizes
    views = decode(enc.data, progress=False)[1]
    row = {"quantizer": quantizer, "bits": bits, "psnr": r["psnr"], "ssim": r["ssim"],
           "float_psnr": f.float_metrics["psnr"], "kB": sizes.file_bytes / 1000, "file_bytes": sizes.file_bytes,
           "header_bytes": sizes.header_bytes, "code_bytes": sizes.code_bytes, "side_bytes": sizes.side_bytes,
           "params": r["target_params"], "fit_seconds": round(f.result.seconds, 1), "epochs": f.result.epochs,
           "file": str(path)}
    return row, views[0]


def run(s: Settings) -> list[Row]:
    """Fit once, write PTQ (and QAT) files for every quantizer; returns the rows (also written to disk)."""
    s.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(s.threads)  # rendering too: one thread beats two on a busy 2-core machine
    name = s.scene_path().name
    signal = RadianceSignal.load(s.scene_path(), size=s.size, samples=s.samples, fine=s.fine,
                                 rays_per_epoch=s.rays_per_epoch)
    t0 = time.perf_counter()
    f = fit_network(signal, s.arch, "relu", _fit_config(s), seed=s.seed)
    print(f"float fit: {f.result.epochs} epochs ({f.result.epochs * signal.num_samples()} rays) in "
          f"{f.result.seconds:.0f} s; held-out PSNR {f.float_metrics['psnr']:.2f} dB, SSIM {f.float_metrics['ssim']:.3f}")
    rows, images = [], {"ground truth": signal.scene.splits["test"].images[0]}
    for q in s.quantizers:
        row, img = _write(f, q, s.bits, s.out / f"{name}_{q}_{s.bits}bit_ptq.inr")
        rows.append({"scene": name, "mode": "ptq", **row})
        images[f"{q} PTQ"] = img
        _report(rows, s, name)
    for q in s.quantizers if s.qat else ():
        g = replace(f, param=copy.deepcopy(f.param))
        g = continue_fit(g, replace(_fit_config(s), qat_quantizer=q, qat_bits=s.bits, lr=s.qat_lr,
                                    time_budget=s.qat_seconds, gamma=1.0))
        row, img = _write(g, q, s.bits, s.out / f"{name}_{q}_{s.bits}bit_qat.inr")
        rows.append({"scene": name, "mode": "qat", **row})
        images[f"{q} QAT"] = img
        _report(rows, s, name)
    _figure(images, s.out / f"{name}_{s.bits}bit.png")
    print(f"done in {time.perf_counter() - t0:.0f} s; results in {s.out}")
    return rows


def _report(rows: list[Row], s: Settings, name: str) -> None:
    """CSV + settings JSON + a markdown table beside the paper's means; rewritten after every file."""
    write_rows(rows, s.out / f"{name}.csv", {**asdict(s), "out": str(s.out)})
    paper = PAPER_MEANS["llff" if (s.scene_path() / "poses_bounds.npy").is_file() else "blender"]
    lines = [f"| {name} {s.size}px, {s.bits} bits | mode | PSNR dB | SSIM | kB | paper mean PSNR dB / kB |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        p = paper.get(r["quantizer"])
        ref = f"{p[0]:.2f} / {p[1]:.1f}" if p else ""
        lines.append(f"| {r['quantizer']} | {r['mode'].upper()} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['kB']:.2f} | {ref} |")
    lines.append(f"\nfloat network: {rows[0]['float_psnr']:.2f} dB after {rows[0]['epochs']} epochs "
                 f"({rows[0]['fit_seconds']:.0f} s)")
    (s.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(lines[-2], flush=True)  # the newest row


def _figure(images: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(1.8 * len(images), 2.1))
    for ax, (title, img) in zip(np.atleast_1d(axes), images.items()):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    save_figure(fig, path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inrzip.experiments.nerf_quant", description=__doc__.split("\n")[0])
    d = Settings()
    p.add_argument("--scene", default=d.scene, help="blender_lego, llff_fern or a scene folder")
    p.add_argument("--size", type=int, default=d.size, help="longest image side (default 100)")
    p.add_argument("--arch", default=d.arch)
    p.add_argument("--samples", type=int, default=d.samples)
    p.add_argument("--fine", type=int, default=d.fine)
    p.add_argument("--bits", type=int, default=d.bits)
    p.add_argument("--quantizers", default=",".join(d.quantizers))
    p.add_argument("--time-budget", type=float, default=d.time_budget, help="float fit seconds")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--gamma", type=float, default=d.gamma)
    p.add_argument("--no-qat", dest="qat", action="store_false")
    p.add_argument("--qat-seconds", type=float, default=d.qat_seconds)
    p.add_argument("--qat-lr", type=float, default=d.qat_lr)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", type=Path, default=d.out)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = vars(_parser().parse_args(argv))
    a["quantizers"] = tuple(q.strip() for q in a["quantizers"].split(",") if q.strip())
    run(Settings(**a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
