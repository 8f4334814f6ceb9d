"""Optimizers, one parameter group per model so K models share one optimizer and keep their own rates.

``sgd-inv-mse`` is SGD whose step is scaled by 1/MSE of the current batch, per model: the same update as
SGD on log10(MSE) up to a constant (seed 000, section 1.7), kept to reproduce that comparison. ``adam-weights`` is
Adam on a D'OH network's weights, its steps carried back onto its latent every 4 steps (``nets/weight_space.py``);
on a network that stores its weights it is plain Adam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..registry import Registry
from .engine import make_adam

__all__ = ["Optimizer", "OPTIMIZERS", "make_optimizer"]


@dataclass
class Optimizer:
    """A torch optimizer over K parameter groups (one per model) and how a step uses the K losses."""

    torch_opt: torch.optim.Optimizer
    scale_by_inverse_loss: bool = False

    def step(self, losses: torch.Tensor) -> None:
        """One update; ``losses``: (K,) this step's per-model losses (read only by ``sgd-inv-mse``)."""
        if not self.scale_by_inverse_loss:
            self.torch_opt.step()
            return
        scales = (1.0 / losses.detach().clamp_min(1e-12)).tolist()
        groups = self.torch_opt.param_groups
        base = [g["lr"] for g in groups]
        for g, s in zip(groups, scales):
            g["lr"] = g["lr"] * s
        self.torch_opt.step()
        for g, b in zip(groups, base):
            g["lr"] = b


Factory = Callable[[list[dict], bool], Optimizer]
OPTIMIZERS: Registry[Factory] = Registry("optimizer")


@OPTIMIZERS.register("adam")
def _adam(groups: list[dict], fused: bool) -> Optimizer:
    return Optimizer(make_adam(groups, groups[0]["lr"], groups[0]["betas"], fused))


@OPTIMIZERS.register("adam-weights")
def _adam_weights(groups: list[dict], fused: bool) -> Optimizer:
    """Adam; the trainer hands it a D'OH network's weights instead of its latent (nets/weight_space.py)."""
    return _adam(groups, fused)


@OPTIMIZERS.register("sgd")
def _sgd(groups: list[dict], fused: bool) -> Optimizer:
    return Optimizer(torch.optim.SGD([{k: v for k, v in g.items() if k != "betas"} for g in groups],
                                     lr=groups[0]["lr"]))


@OPTIMIZERS.register("sgd-inv-mse")
def _sgd_inv_mse(groups: list[dict], fused: bool) -> Optimizer:
    return Optimizer(_sgd(groups, fused).torch_opt, scale_by_inverse_loss=True)


def make_optimizer(name: str, groups: list[dict], fused: bool) -> Optimizer:
    """``groups``: one ``{"params", "lr", "betas"}`` per model."""
    return OPTIMIZERS.get(name)(groups, fused)
