"""Portable random numbers for D'OH's fixed matrices ``B_l``.

The decoder must regenerate ``B_l`` bit for bit from an integer seed on any machine, CPU or GPU,
and any NumPy/PyTorch version. Library generators do not promise that across versions, so the
stream is *defined here*: a counter-based SplitMix64 hash of (seed, stream, index) mapped to a
float64 in [0, 1). Counter-based means any slice can be generated alone, so ``B`` can be built
in chunks without holding it all in memory. Only integer ops and an exact power-of-two scale are
used, so the result is identical everywhere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["uniform", "symmetric_uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al.), a bijection on uint64 with good avalanche."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniform(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Entries ``start .. start+count`` of stream ``stream`` of ``seed``, float64 in [0, 1)."""
    with np.errstate(over="ignore"):
        key = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _GOLDEN + np.uint64(stream + 1))
        idx = np.arange(start, start + count, dtype=np.uint64)
        bits = _mix(key + (idx + np.uint64(1)) * _GOLDEN)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def symmetric_uniform(seed: int, stream: int, shape: tuple[int, ...], bound: float, start: int = 0) -> np.ndarray:
    """U(-bound, bound) of the given shape, float64, from entry ``start`` of the stream."""
    count = int(np.prod(shape)) if shape else 1
    return ((uniform(seed, stream, start, count) * 2.0 - 1.0) * bound).reshape(shape)
