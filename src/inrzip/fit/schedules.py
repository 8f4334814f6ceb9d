"""Learning-rate schedules: epoch -> factor of the initial rate."""

from __future__ import annotations

from typing import Callable

from ..config import FitConfig

__all__ = ["lr_schedule"]


def lr_schedule(cfg: FitConfig) -> Callable[[int], float]:
    """Linear warm-up over ``warmup_epochs``, then ``gamma`` per epoch (the D'OH supplement's Table 1 shape)."""
    gamma, warmup = float(cfg.gamma), int(cfg.warmup_epochs or 0)

    def factor(epoch: int) -> float:
        warm = min(1.0, (epoch + 1) / warmup) if warmup > 0 else 1.0
        return warm * gamma ** epoch
    return factor
