"""``--target-psnr``: an epoch hook that stops a fit once the *decoded file* reaches a quality.

The check (write the network as a file, decode it, score it) is given as a function, so the hook knows
nothing of files; what it owns is when to check and how the time is counted: checks are spaced so they
cost about a tenth of the fitting time (never twice within ``MIN_GAP`` seconds), and their own time is not
fitting time.
"""

from __future__ import annotations

import math
import time
from typing import Callable

__all__ = ["TargetCheck"]


class TargetCheck:
    """Epoch hook (``fit_many``'s ``hook``): True once ``quality()`` reaches ``target``."""

    MIN_GAP = 2.0

    def __init__(self, quality: Callable[[], float], target: float) -> None:
        self.quality, self.target = quality, target
        self.start, self.cost, self.next_at = time.perf_counter(), 0.0, 0.0
        self.best, self.reached_at = -math.inf, None

    def __call__(self, epoch: int, means: list[float]) -> bool:
        fitting = time.perf_counter() - self.start - self.cost
        if fitting < self.next_at:
            return False
        t0 = time.perf_counter()
        quality = self.quality()
        self.cost += time.perf_counter() - t0
        self.best = max(self.best, quality)
        self.next_at = fitting + max(self.MIN_GAP, 10 * (time.perf_counter() - t0))
        if quality >= self.target:
            self.reached_at = (epoch, fitting, quality)
            return True
        return False

    def summary(self) -> str:
        if self.reached_at is None:
            return f"target {self.target:.2f} dB not reached; the best check gave {self.best:.2f} dB"
        epoch, seconds, quality = self.reached_at
        return f"target {self.target:.2f} dB reached after {seconds:.1f} s of fitting (epoch {epoch}): {quality:.2f} dB"
