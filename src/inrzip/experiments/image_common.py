"""Shared pieces of the D'OH image experiments: image sets, the compared methods, one fit -> rows per bit depth.

Every row is a real ``.inr`` file written by ``api.write`` and decoded: PSNR/SSIM of the decoded image, bpp of
the real file, with the papers' ``params x bits`` estimate beside it.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..api import CompressConfig, Fitted, train, write
from ..config import FitConfig
from ..errors import InputError
from ..signals.image import ImageSignal, read_image
from .quant_common import DATA_ROOT, save_figure

__all__ = ["KODAK_SUBSET", "DIV2K", "METHODS", "Method", "Budget", "Protocol", "load_named", "fit_image",
           "image_rows", "fit_protocol", "plot_rd", "ARCHS", "BITS"]

Row = dict[str, Any]
KODAK_SUBSET = ("kodim03", "kodim06", "kodim09", "kodim12", "kodim15", "kodim18", "kodim21", "kodim24")
DIV2K = ("0801", "0829", "0845")  # the downscaled validation images in ../shared/data/div2k
ARCHS = ("20x4", "30x4", "28x9", "40x9")  # D'OH supplement Table 1 target MLPs
BITS = (4, 5, 6, 8, 16)  # Table 1 quantization levels


@dataclass(frozen=True)
class Method:
    """A compared model: how the network is parameterized and encoded (CompressConfig fields)."""

    label: str
    parameterization: str
    pe: bool
    pe_band: str = "nyquist"
    residual: bool = False  # store offsets from the seeded init (inrzip's image MLP default) instead of weights

    def config(self, arch: str, fit: FitConfig, latent_ratio: float | None, preset: str | None = None
               ) -> CompressConfig:
        return CompressConfig(arch=arch, parameterization=self.parameterization, pe=self.pe, pe_band=self.pe_band,
                              latent_ratio=latent_ratio if self.parameterization == "doh" else None, fit=fit,
                              preset=preset, residual=self.residual)  # the papers' MLPs store their weights


METHODS: dict[str, Method] = {m.label: m for m in (
    Method("doh", "doh", True),  # D'OH uses PE (supplement Fig. 7 caption)
    Method("mlp", "mlp", False),  # the paper's image MLP baseline: no PE
    Method("mlp+pe", "mlp", True),  # inrzip's PE: octave frequencies folded to the pixel grid (pe_band nyquist)
    Method("mlp+pe-octave", "mlp", True, "full"),  # the paper's PE: sin/cos(2^k pi x), k < 10, unfolded
    Method("mlp-offsets", "mlp", False, residual=True),  # inrzip's default image MLP, beyond the papers (rate.md)
)}


@dataclass(frozen=True)
class Budget:
    """How long each fit runs (an epoch cap and seconds, whichever ends first) and with which recipe."""

    epochs: int | None = 300  # None: the preset's (the paper's 2000)
    seconds: float | None = 20.0
    crop: int | None = None  # centre crop side (--quick), None = the whole image
    latent_ratio: float = 0.6  # D'OH latent / target weights (inrzip's default; the supplement does not state it)
    preset: str | None = None  # "paper": the supplement's Table 1 recipe instead of inrzip's defaults

    def fit(self, seed: int = 0) -> FitConfig:
        return FitConfig(epochs=self.epochs, time_budget=self.seconds, engine="fast", threads=1, progress=False,
                         seed=seed)


def load_named(dataset: str, names: Sequence[str], crop: int | None = None) -> list[tuple[str, ImageSignal]]:
    """(name, signal) of Kodak (``kodimNN``) or DIV2K (``0801``) images from ../shared/data."""
    folder = {"kodak": DATA_ROOT / "kodak", "div2k": DATA_ROOT / "div2k" / "downscaled_smiler96"}[dataset]
    out = []
    for name in names:
        path = folder / f"{name}.png"
        if not path.is_file():
            raise InputError(f"{path} is missing; check ../shared/data")
        pixels, depth = read_image(path)
        if crop:
            h, w = pixels.shape[:2]
            pixels = pixels[(h - crop) // 2:(h - crop) // 2 + crop, (w - crop) // 2:(w - crop) // 2 + crop]
        out.append((name, ImageSignal(np.ascontiguousarray(pixels), depth)))
    return out


def fit_image(signal: ImageSignal, method: Method, arch: str, budget: Budget, seed: int = 0) -> Fitted:
    return train(signal, method.config(arch, budget.fit(seed), budget.latent_ratio, budget.preset))


def image_rows(f: Fitted, bits: Sequence[int], **keys: Any) -> list[Row]:
    """One row per bit depth: the decoded file's quality and real rate, beside the params x bits estimate."""
    rows = []
    for b in bits:
        enc = write(f, b, "minmax")  # the D'OH supplement's post-training range quantizer
        r = enc.report
        rows.append({**keys, "bits": b, "psnr": r["psnr"], "ssim": r["ssim"], "bpp": r["bpp"],
                     "estimated_bpp": r["estimated_bpp"], "file_bytes": r["file_bytes"],
                     "stored_values": r["stored_values"], "float_psnr": f.float_metrics["psnr"],
                     "epochs": r["epochs"], "fit_seconds": round(r["fit_seconds"], 1)})
    return rows


@dataclass(frozen=True)
class Protocol:
    """Images, networks, methods and bits of one image experiment."""

    dataset: str
    images: tuple[str, ...]
    archs: tuple[str, ...] = ARCHS
    methods: tuple[str, ...] = ("doh", "mlp", "mlp+pe")
    bits: tuple[int, ...] = BITS
    budget: Budget = Budget()


def fit_protocol(p: Protocol, save: Callable[[list[Row]], None], log=print, jobs: int = 1) -> list[Row]:
    """Every fit of ``p``, ``jobs`` processes at a time (one thread each). ``save`` gets the rows so far after each
    fit, so a cut run keeps them; rows are in task order whatever order the fits end in."""
    tasks = [(image, arch, method) for image in p.images for arch in p.archs for method in p.methods]
    done: dict[tuple[str, str, str], list[Row]] = {}

    def finished(task: tuple[str, str, str], rows: list[Row]) -> None:
        done[task] = rows
        log(f"{task[0]} {task[2]} {task[1]}: " + ", ".join(f"{r['bits']}b {r['psnr']:.2f} dB {r['bpp']:.3f} bpp"
                                                         for r in rows))
        save([r for t in tasks if t in done for r in done[t]])

    if jobs <= 1:
        for task in tasks:
            finished(task, _fit_rows(p, *task))
    else:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_fit_rows, p, *task): task for task in tasks}
            for f in as_completed(futures):
                finished(futures[f], f.result())
    return [r for t in tasks for r in done[t]]


def _fit_rows(p: Protocol, image: str, arch: str, method: str) -> list[Row]:
    """One fit of ``image`` (loaded here, so a worker process needs only names) -> a row per bit depth."""
    [(_, signal)] = load_named(p.dataset, [image], p.budget.crop)
    f = fit_image(signal, METHODS[method], arch, p.budget)
    return image_rows(f, p.bits, image=image, method=method, arch=arch)


_STYLE = {"doh": ("C3", "o"), "mlp": ("C0", "s"), "mlp+pe": ("C2", "^"), "mlp+pe-octave": ("C1", "v"), "mlp-offsets": ("C4", "D")}


def plot_rd(means: Sequence[Row], path: Path, title: str, rate: str = "bpp") -> None:
    """PSNR vs rate, one curve per (method, arch) through its bit depths (supplement Fig. 5's layout)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    archs = sorted({r["arch"] for r in means}, key=str)
    for (method, arch) in dict.fromkeys((r["method"], r["arch"]) for r in means):
        pts = sorted((r for r in means if r["method"] == method and r["arch"] == arch), key=lambda r: r["bits"])
        colour, marker = _STYLE.get(method, ("k", "x"))
        alpha = 0.4 + 0.6 * (archs.index(arch) + 1) / len(archs)
        ax.plot([p[rate] for p in pts], [p["psnr"] for p in pts], marker=marker, color=colour, alpha=alpha,
                label=f"{method} {arch}", ms=4)
    ax.set_xscale("log")
    ax.set_xlabel(f"{rate} (real file)" if rate == "bpp" else rate)
    ax.set_ylabel("PSNR dB (decoded file)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path)
