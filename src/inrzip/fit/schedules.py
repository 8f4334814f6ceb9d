"""Learning-rate schedules as a function of the run's progress, so a time budget plans the whole schedule.

``progress`` is the fraction of the planned run done: epochs done / epochs, or seconds spent / time budget,
whichever is further along. The rate warms up linearly over the first ``warmup_epochs`` epochs actually run
(epochs, not a fraction of the plan: what a warm-up guards against is the first steps' blow-up), then decays
exponentially to ``gamma ** epochs`` of its start at the end of the run, whether the run ends by
epochs or by the clock (a budget that stops the fit early no longer leaves the rate high).
"""

from __future__ import annotations

from ..config import FitConfig

__all__ = ["lr_factor", "progress"]


def progress(epochs_done: float, elapsed: float, cfg: FitConfig) -> float:
    """Fraction of the planned run done, in [0, 1]."""
    p = epochs_done / max(cfg.epochs, 1)
    if cfg.time_budget:
        p = max(p, elapsed / cfg.time_budget)
    return min(max(p, 0.0), 1.0)


def lr_factor(cfg: FitConfig, p: float, epochs_done: float | None = None) -> float:
    """Factor of the initial rate at progress ``p`` after ``epochs_done`` epochs (default: ``p`` of the planned
    epochs): linear warm-up over ``warmup_epochs`` epochs, then ``gamma`` per epoch of the planned run."""
    done = p * cfg.epochs if epochs_done is None else epochs_done
    warm = cfg.warmup_epochs or 0
    ramp = min(1.0, done / warm) if warm > 0 else 1.0
    return ramp * float(cfg.gamma) ** (p * cfg.epochs)
