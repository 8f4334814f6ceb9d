"""Bjontegaard delta rate and delta PSNR between two rate-distortion curves.

The standard definition (VCEG-M33, with the piecewise cubic interpolation of later reference code):
interpolate each curve with a monotone piecewise cubic (PCHIP), integrate over the range both curves
cover, and average. BD-rate integrates log-rate as a function of quality over the common quality
range; BD-PSNR integrates quality as a function of log-rate over the common log-rate range.
Natural log is used; the result does not depend on the base.

Each curve should be a Pareto frontier (quality rising with rate); ``pareto.frontier`` gives one.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..errors import InputError

__all__ = ["bd_rate", "bd_psnr"]


def _curve(x: Sequence[float], y: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by ``x`` with duplicate ``x`` merged (mean y), as PCHIP needs strictly rising x."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"{what}: rate and quality lists must have the same length")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    ux, inv = np.unique(x, return_inverse=True)
    if ux.size < 2:
        raise InputError(f"{what}: need at least 2 distinct points for Bjontegaard metrics, got {ux.size}")
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    return ux, uy


def _log_rate(rate: Sequence[float]) -> np.ndarray:
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(rate <= 0):
        raise InputError("rates must be positive (bpp or bytes) for Bjontegaard metrics")
    return np.log(rate)


def _mean_gap(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> float:
    """Mean of (f2 - f1) over the overlap of the x ranges, f_i the PCHIP interpolant of (x_i, y_i)."""
    lo, hi = max(x1[0], x2[0]), min(x1[-1], x2[-1])
    if not hi > lo:
        raise InputError("the two curves do not overlap; sweep a wider quality range so they share one")
    area1 = PchipInterpolator(x1, y1).integrate(lo, hi)
    area2 = PchipInterpolator(x2, y2).integrate(lo, hi)
    return float((area2 - area1) / (hi - lo))


def bd_rate(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float]) -> float:
    """Average rate difference of ``test`` vs ``anchor`` at equal quality, in percent (negative = test saves rate)."""
    q1, lr1 = _curve(psnr_anchor, _log_rate(rate_anchor), "anchor")
    q2, lr2 = _curve(psnr_test, _log_rate(rate_test), "test")
    return float((np.exp(_mean_gap(q1, lr1, q2, lr2)) - 1.0) * 100.0)


def bd_psnr(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float]) -> float:
    """Average quality difference of ``test`` vs ``anchor`` at equal rate (dB for PSNR; positive = test better)."""
    lr1, q1 = _curve(_log_rate(rate_anchor), psnr_anchor, "anchor")
    lr2, q2 = _curve(_log_rate(rate_test), psnr_test, "test")
    return _mean_gap(lr1, q1, lr2, q2)
