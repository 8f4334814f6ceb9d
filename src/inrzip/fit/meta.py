"""Meta-learning an MLP's initial weights with Reptile (Nichol, Achiam, Schulman 2018).

Why Reptile and not MAML: it needs only first-order steps of the same loop a fit runs (Adam on log10 MSE),
so it costs a fit's steps and no second-order graph, which is what a CPU allows. Each outer step draws a task
(a random crop of a training photograph, in a random one of the 8 flips / quarter turns, so a handful of photos
give many tasks), fits a copy of the current init to it for ``inner_steps`` steps, and takes one Adam step of
the init towards the fitted weights at a small rate (Tancik et al., CVPR 2021, meta-learn coordinate networks'
inits the same way). The result is saved as package data by ``nets.inits.save_init``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import InputError
from ..nets.networks import NetworkSpec, forward
from ..nets.parameterizations import MLP
from ..signals.image import image_grid
from .losses import LOSSES

__all__ = ["ReptileConfig", "random_task", "inner_fit", "reptile"]

Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ReptileConfig:
    """One meta-training run; the defaults are those of the shipped init (docs/fitting.md)."""

    crop: int = 256  # task side in pixels: the coordinate spacing the init learns is that of a crop this size
    outer_steps: int = 600
    inner_steps: int = 8  # one epoch of a 256x256 crop at the fit's batch: the init is for the first steps
    inner_lr: float = 1e-3  # the peak rate of an MLP fit (MLP.base_lr), Adam betas (0.9, 0.999)
    # The outer step is Adam on (init - fitted) at this rate (Tancik et al. also meta-train with Adam). A plain
    # Reptile step (a fraction of the way to the fitted weights) moves every weight by up to the inner steps' total
    # (8 Adam steps of 1e-3) on every task, half a SIREN hidden weight's bound (0.015): measured, after 150 tasks
    # that init no longer trained (13 dB after 30 epochs against 29 from the random init).
    outer_lr: float = 3e-4  # 1e-4 for 150 tasks gained less early on (docs/fitting.md, "Meta-learned init")
    batch: int = 8192  # the fit's default batch
    seed: int = 0


def random_task(images: Sequence[np.ndarray], crop: int, gen: torch.Generator) -> torch.Tensor:
    """(crop * crop, C) targets centred on 0 (as ``ImageSignal``'s): a random crop, flip and quarter turn."""
    fits = [im for im in images if min(im.shape[:2]) >= crop]
    if not fits:
        raise InputError(f"no training image is at least {crop} pixels on both sides")
    im = fits[int(torch.randint(len(fits), (1,), generator=gen))]
    h, w = im.shape[:2]
    top = int(torch.randint(h - crop + 1, (1,), generator=gen))
    left = int(torch.randint(w - crop + 1, (1,), generator=gen))
    patch = torch.from_numpy(np.ascontiguousarray(im[top:top + crop, left:left + crop]))
    turns, flip = (int(v) for v in torch.randint(4, (2,), generator=gen))
    patch = torch.rot90(patch, turns, (0, 1))
    patch = torch.flip(patch, (1,)) if flip % 2 else patch
    return patch.reshape(crop * crop, -1) - 0.5


def inner_fit(spec: NetworkSpec, start: Tensors, coords: torch.Tensor, targets: torch.Tensor, cfg: ReptileConfig,
              gen: torch.Generator) -> tuple[Tensors, float]:
    """A copy of ``start`` fitted to one task for ``cfg.inner_steps`` Adam steps; and its last batch's PSNR."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in start.items()}
    net = MLP(spec)  # only its ``layers_from``: the tensors trained here are ``params``
    opt = torch.optim.Adam(params.values(), lr=cfg.inner_lr, betas=(0.9, 0.999))
    loss_fn = LOSSES["log10mse"]
    loss = torch.zeros(())
    for _ in range(cfg.inner_steps):
        idx = torch.randint(coords.shape[0], (min(cfg.batch, coords.shape[0]),), generator=gen)
        loss = loss_fn(forward(spec, net.layers_from(params), coords[idx]), targets[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {k: v.detach() for k, v in params.items()}, float(-10.0 * loss.detach())


def reptile(spec: NetworkSpec, images: Sequence[np.ndarray], cfg: ReptileConfig = ReptileConfig(),
            progress: Callable[[int, float], None] | None = None) -> tuple[Tensors, list[float]]:
    """Meta-learned ``w0, b0, ...`` for ``spec`` (raw coordinates: an init is tied to its inputs) from
    ``images`` (H x W x C float in [0, 1]); and each outer step's task PSNR after its inner steps."""
    if spec.pe_freqs:
        raise InputError("meta-learned inits are for networks on raw coordinates (no positional encoding)")
    gen = torch.Generator().manual_seed(cfg.seed)
    meta = {k: v.detach().clone().requires_grad_(True) for k, v in MLP(spec, seed=cfg.seed).stored().items()}
    outer = torch.optim.Adam(meta.values(), lr=cfg.outer_lr)
    coords = image_grid(cfg.crop, cfg.crop)
    history: list[float] = []
    for step in range(cfg.outer_steps):
        fitted, psnr = inner_fit(spec, meta, coords, random_task(images, cfg.crop, gen), cfg, gen)
        for k, v in meta.items():
            v.grad = v.detach() - fitted[k]  # Reptile's direction: towards the task's fitted weights
        outer.step()
        history.append(psnr)
        if progress is not None:
            progress(step, psnr)
    return {k: v.detach() for k, v in meta.items()}, history
