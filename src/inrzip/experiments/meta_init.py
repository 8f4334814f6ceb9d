"""Meta-learn an MLP's initial weights on DIV2K photographs (Reptile) and save them as a named init.

    python -m inrzip.experiments meta-init --arch 28x9 --name siren-28x9-div2k --into src/inrzip/nets/inits

Tasks are random ``--crop`` crops (flipped and turned) of every DIV2K image in ``../shared/data/div2k`` at least
that size; Kodak is never used (it is the test set of every comparison). Writes ``meta-init.csv`` (each outer
step's task PSNR after its inner steps), ``meta-init.json`` (the configuration), ``meta-init.png`` and the init
(``<name>.npz`` and its ``index.json`` entry) under ``--into`` (default: the output folder). The shipped init is
used with ``inrzip compress --mlp --arch 28x9 --init NAME``; docs/fitting.md measures what it gains.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..fit.meta import ReptileConfig, reptile
from ..nets.inits import save_init
from ..nets.networks import NetworkSpec, parse_arch
from ..signals.imageio import read_image
from .quant_common import DATA_ROOT, save_figure, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["run", "training_images"]


def training_images(root: Path, crop: int) -> tuple[list[str], list[np.ndarray]]:
    """Every RGB image under ``root`` with both sides at least ``crop`` (names relative to ``root``)."""
    names, images = [], []
    for path in sorted(root.rglob("*.png")):
        pixels, _ = read_image(path)
        if pixels.shape[2] == 3 and min(pixels.shape[:2]) >= crop:
            names.append(str(path.relative_to(root)))
            images.append(pixels)
    return names, images


def _plot(history: Sequence[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    h = np.asarray(history)
    k = max(1, len(h) // 30)
    smooth = np.convolve(h, np.ones(k) / k, mode="valid")
    ax.plot(h, ".", alpha=0.25, label="task PSNR after the inner steps")
    ax.plot(np.arange(len(smooth)) + k - 1, smooth, "-", label=f"mean of {k}")
    ax.set_xlabel("outer step (task)")
    ax.set_ylabel("PSNR dB")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


@experiment("meta-init", "Reptile-learned MLP init on DIV2K crops, saved as a named init for --init")
def run(quick: bool, out: Path, argv: Sequence[str]) -> Path:
    p = ArgParser(prog="meta-init")
    p.add_argument("--arch", default="28x9")
    p.add_argument("--omega", type=float, default=30.0)
    p.add_argument("--name", default=None, help="init name (default siren-ARCH-div2k)")
    p.add_argument("--into", type=Path, default=None, help="folder of the init and its index (default: --out)")
    p.add_argument("--data", type=Path, default=DATA_ROOT / "div2k")
    p.add_argument("--steps", type=int, default=ReptileConfig.outer_steps, help="outer steps (tasks)")
    p.add_argument("--inner", type=int, default=ReptileConfig.inner_steps, help="Adam steps per task")
    p.add_argument("--crop", type=int, default=ReptileConfig.crop)
    p.add_argument("--outer-lr", type=float, default=ReptileConfig.outer_lr)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(list(argv))
    if quick:
        a.arch, a.steps, a.inner, a.crop = "8x2", 4, 2, 32
    width, hidden = parse_arch(a.arch)
    spec = NetworkSpec(2, 3, width, hidden, "sine", a.omega)
    cfg = ReptileConfig(crop=a.crop, outer_steps=a.steps, inner_steps=a.inner, seed=a.seed,
                        outer_lr=a.outer_lr)
    names, images = training_images(a.data, a.crop)
    bar = tqdm(total=cfg.outer_steps, desc="meta-init", unit="task")

    def tick(_: int, psnr: float) -> None:
        bar.update(1)
        bar.set_postfix(psnr=f"{psnr:.2f}")

    meta, history = reptile(spec, images, cfg, tick)
    bar.close()
    name = a.name or f"siren-{a.arch}-div2k"
    trained = {"method": "reptile", **asdict(cfg), "images": names, "machine": machine(),
               "final_task_psnr": float(np.mean(history[-max(1, len(history) // 10):]))}
    save_init(name, spec, meta, trained, a.into or out)
    rows = [{"step": i, "task_psnr": v} for i, v in enumerate(history)]
    write_rows(rows, out / "meta-init.csv", {"name": name, "spec": asdict(spec), **trained})
    _plot(history, out / "meta-init.png")
    return out
