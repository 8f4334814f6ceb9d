"""Plots of the quantization study (matplotlib, headless): one PNG per experiment, means over images."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .quant_common import QUANTIZER_ORDER, save_figure  # noqa: E402

__all__ = ["plot_activations", "plot_ssim", "plot_qat", "plot_dictionary", "plot_convergence"]

Row = dict[str, Any]
_COLOURS = {"minmax": "C0", "explicit": "C1", "distributional": "C2", "kmeans": "C3"}
_STYLES = {"sine": "-", "relu": "--", "gauss": ":"}


def _panels(rows: Sequence[Row], keys: Sequence[str]) -> list[tuple]:
    seen: list[tuple] = []
    for r in rows:
        k = tuple(r[x] for x in keys)
        if k not in seen:
            seen.append(k)
    return seen


def _select(rows: Sequence[Row], **eq: Any) -> list[Row]:
    return sorted((r for r in rows if all(r[k] == v for k, v in eq.items())), key=lambda r: r.get("bits", 0))


def _grid(n: int, ncols: int | None = None, size: tuple[float, float] = (4.2, 3.4)) -> tuple[Any, list]:
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    return fig, [a for row in axes for a in row]


def plot_activations(rows: Sequence[Row], path: Path) -> None:
    """Figure 1: a panel per (dataset, network) x quantizer; colour = quantizer, line style = activation."""
    panels = _panels(rows, ("dataset", "arch"))
    quants = [q for q in QUANTIZER_ORDER if any(r["quantizer"] == q for r in rows)]
    fig, axes = _grid(len(panels) * len(quants), len(quants), (3.4, 2.9))
    for i, (ds, arch) in enumerate(panels):
        for j, q in enumerate(quants):
            ax = axes[i * len(quants) + j]
            for act in _STYLES:
                sel = _select(rows, dataset=ds, arch=arch, activation=act, quantizer=q)
                if sel:
                    ax.plot([r["bits"] for r in sel], [r["psnr"] for r in sel], _STYLES[act], marker=".",
                            color=_COLOURS[q], label=act)
            ax.set_title(f"{ds} {arch}: {q}", fontsize=9)
            ax.set_xlabel("bits per weight")
            ax.set_ylabel("PSNR (dB)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_ssim(rows: Sequence[Row], path: Path) -> None:
    """Figure 2: PSNR (top) and SSIM (bottom) vs bits, one column per (dataset, network)."""
    panels = _panels(rows, ("dataset", "arch"))
    fig, axes = plt.subplots(2, len(panels), figsize=(4.4 * len(panels), 6.4), squeeze=False)
    for j, (ds, arch) in enumerate(panels):
        for i, metric in enumerate(("psnr", "ssim")):
            ax = axes[i][j]
            for q in QUANTIZER_ORDER:
                sel = _select(rows, dataset=ds, arch=arch, quantizer=q)
                if sel:
                    ax.plot([r["bits"] for r in sel], [r[metric] for r in sel], marker=".", color=_COLOURS[q], label=q)
            if sel:
                ax.axhline(sel[0][f"float_{metric}"], color="k", lw=0.8, ls="--", label="float")
            ax.set_title(f"{ds} {arch}", fontsize=9)
            ax.set_xlabel("bits per weight")
            ax.set_ylabel(metric.upper())
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_qat(rows: Sequence[Row], path: Path) -> None:
    """Figure 3: k-means PSNR vs bits, post-training vs QAT variants, a panel per dataset."""
    panels = _panels(rows, ("dataset", "arch"))
    fig, axes = _grid(len(panels))
    for ax, (ds, arch) in zip(axes, panels):
        for k, method in enumerate(m for (m,) in _panels([r for r in rows if r["dataset"] == ds], ("method",))):
            sel = _select(rows, dataset=ds, arch=arch, method=method)
            ax.plot([r["bits"] for r in sel], [r["psnr"] for r in sel], marker="o", color=f"C{k}", label=method)
        ax.set_title(f"{ds} {arch}: k-means", fontsize=9)
        ax.set_xlabel("bits per weight")
        ax.set_ylabel("PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_dictionary(rows: Sequence[Row], path: Path) -> None:
    """Figure 4: per network, entropy-coded code bytes and dictionary bytes vs bits (log scale)."""
    panels = _panels(rows, ("arch", "params"))
    fig, axes = _grid(len(panels), min(len(panels), 5), (3.3, 3.0))
    for ax, (arch, params) in zip(axes, panels):
        sel = _select(rows, arch=arch)
        bits = [r["bits"] for r in sel]
        ax.plot(bits, [r["code_bytes"] for r in sel], "o-", color="C0", label="codes (coded)")
        ax.plot(bits, [r["estimated_bytes"] for r in sel], ":", color="C0", label="params x bits / 8")
        ax.plot(bits, [r["dictionary_bytes"] for r in sel], "s-", color="C3", label="dictionary")
        ax.set_yscale("log")
        ax.set_title(f"{arch} ({params} params)", fontsize=9)
        ax.set_xlabel("bits per weight")
        ax.set_ylabel("bytes")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_convergence(rows: Sequence[Row], path: Path) -> None:
    """Figures 7-8: training PSNR vs epoch; left Adam on MSE vs log10(MSE), right the SGD variants."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, prefix in zip(axes, ("adam", "sgd")):
        for k, (run,) in enumerate(_panels([r for r in rows if r["optimizer"].startswith(prefix)], ("run",))):
            sel = sorted((r for r in rows if r["run"] == run), key=lambda r: r["epoch"])
            ax.plot([r["epoch"] for r in sel], [r["train_psnr"] for r in sel], color=f"C{k}", label=run,
                    ls="--" if run.endswith("log10mse") and prefix == "sgd" else "-")
        ax.set_title("Adam: MSE vs log10(MSE) loss" if prefix == "adam" else "SGD: MSE, 1/MSE-scaled steps, log10(MSE)",
                     fontsize=9)
        ax.set_xlabel("epoch (full batch: one step)")
        ax.set_ylabel("training PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)
