"""Portable random numbers for D'OH's fixed matrices ``B_l``.

The decoder must regenerate ``B_l`` bit for bit from an integer seed on any machine, CPU or GPU,
and any NumPy/PyTorch version. Library generators do not promise that across versions, so the
stream is *defined here*: a counter-based SplitMix64 hash of (seed, stream, index) mapped to a
float64 in [0, 1). Counter-based means any slice can be generated alone, so ``B`` can be built
in chunks without holding it all in memory. Only integer ops and an exact power-of-two scale are
used, so the result is identical everywhere.

Two implementations of the one definition: ``uniform`` (NumPy uint64, the reference) and
``uniform_torch`` (torch int64 holding the same bit patterns: wrapping multiply and add are the same
modulo 2^64, and logical shifts are arithmetic shifts with the sign bits masked off), which runs
vectorised on several threads or a GPU; tests/test_rng_and_params.py checks they agree.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["uniform", "symmetric_uniform", "uniform_torch", "symmetric_uniform_torch"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SCALE = 1.0 / 9007199254740992.0  # 2^-53


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al.), a bijection on uint64 with good avalanche."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _key(seed: int, stream: int) -> np.uint64:
    with np.errstate(over="ignore"):
        return _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _GOLDEN + np.uint64(stream + 1))


def uniform(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Entries ``start .. start+count`` of stream ``stream`` of ``seed``, float64 in [0, 1)."""
    with np.errstate(over="ignore"):
        idx = np.arange(start, start + count, dtype=np.uint64)
        bits = _mix(_key(seed, stream) + (idx + np.uint64(1)) * _GOLDEN)
    return (bits >> np.uint64(11)).astype(np.float64) * _SCALE


def symmetric_uniform(seed: int, stream: int, shape: tuple[int, ...], bound: float, start: int = 0) -> np.ndarray:
    """U(-bound, bound) of the given shape, float64, from entry ``start`` of the stream."""
    count = int(np.prod(shape)) if shape else 1
    return ((uniform(seed, stream, start, count) * 2.0 - 1.0) * bound).reshape(shape)


def _signed(v: int) -> int:
    """A uint64 constant as the int64 with the same bits."""
    return v - (1 << 64) if v >= 1 << 63 else v


_T_GOLDEN, _T_M1, _T_M2 = _signed(int(_GOLDEN)), _signed(int(_M1)), _signed(int(_M2))


def _srl(x: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def _mix_torch(x: torch.Tensor) -> torch.Tensor:
    x = (x ^ _srl(x, 30)) * _T_M1
    x = (x ^ _srl(x, 27)) * _T_M2
    return x ^ _srl(x, 31)


def uniform_torch(seed: int, stream: int, start: int, count: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``uniform`` as a float64 torch tensor on ``device``: the same numbers, bit for bit."""
    idx = torch.arange(start + 1, start + count + 1, dtype=torch.int64, device=device)
    bits = _mix_torch(idx * _T_GOLDEN + _signed(int(_key(seed, stream))))
    return _srl(bits, 11).to(torch.float64) * _SCALE


def symmetric_uniform_torch(seed: int, stream: int, shape: tuple[int, ...], bound: float, start: int = 0,
                            device: torch.device | str = "cpu") -> torch.Tensor:
    """``symmetric_uniform`` as a float64 torch tensor: the same numbers, bit for bit."""
    count = int(np.prod(shape)) if shape else 1
    return ((uniform_torch(seed, stream, start, count, device) * 2.0 - 1.0) * bound).reshape(shape)
