"""Training losses. A loss maps predictions and targets of shape (..., samples, outputs) to one value per
leading index: a scalar for one model's (B, out), a (K,) vector for K stacked models' (K, B, out),
computed in one pass."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..registry import Registry

__all__ = ["LossFn", "LOSSES"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_SAMPLE_DIMS = (-2, -1)

LOSSES: Registry[LossFn] = Registry("loss")


@LOSSES.register("mse")
def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).square().mean(_SAMPLE_DIMS)


@LOSSES.register("log10mse")
def log10_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """log10(MSE): unscaled negative PSNR; equals SGD on MSE with steps scaled by 1/MSE (seed 000, 1.7)."""
    return torch.log10(mse(pred, target) + 1e-12)


@LOSSES.register("bce")
def bce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on outputs read as probabilities (clamped), for occupancy."""
    return F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), target, reduction="none").mean(_SAMPLE_DIMS)
