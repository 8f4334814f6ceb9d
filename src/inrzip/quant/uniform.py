"""Uniform quantizers (seed 000, "On Quantizing INRs", and D'OH): ``minmax``, ``explicit`` [-1, 1], ``distributional``.

- ``minmax``: 2^bits uniform levels on the tensor's own [min, max] (D'OH's quantizer); side info [min, max].
- ``explicit``: 2^bits uniform levels on the fixed interval [-1, 1], values outside clipped. The range
  is part of the format, so there is no side info at all (``num_params`` = 0).
- ``distributional``: levels placed from the weights' distribution. Default ``levels="std"``: uniform
  levels on mean +/- k(bits) standard deviations, intersected with [min, max]; k(bits) is the clipping
  of the MSE-optimal uniform quantizer of a Gaussian (Max 1960), so the range widens with the bit depth.
  Side info: [lo, hi]. Option ``levels="quantile"``: levels at the quantiles (i + 1/2) / 2^bits
  (equal-mass bins); side info: the sorted levels, a codebook like k-means'. Why std is the default:
  docs/quantizers.md. The decoder needs no option: a 2-value side info is a range, longer is a codebook.

All three share one kernel, ``uniform_levels``: float32 torch ops in a fixed order, used by post-training
quantization, by the decoder and by QAT on any device, so what training sees is what the file stores.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..errors import FormatError, InrzipError
from ..registry import Registry
from .base import QUANTIZERS, QTensor, Quantizer, check_bits, check_codes, finite_flat
from .codebook import codebook_values, exact_or_padded, nearest_codes, quantile_levels, torch_nearest, torch_table

__all__ = ["MinMax", "Explicit", "Distributional", "GAUSS_K", "std_range", "LEVEL_RULES", "uniform_levels",
           "levels_kernel", "uniform_codes", "uniform_values"]

_ONE = np.float32(1.0)


def uniform_levels(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes, values) of the nearest of 2^bits uniform levels on [lo, hi] (outside values clipped), float32.

    Every op is a separate IEEE float32 kernel (no fused multiply-add) and the step is a tensor-by-tensor
    division (CUDA turns division by a Python number into a multiply by its reciprocal), so the result is
    the same on every device. A constant tensor (step 0) or a non-finite range decodes to ``lo``."""
    return levels_kernel(x, lo, hi, torch.tensor(float((1 << bits) - 1), dtype=torch.float32, device=x.device))


def levels_kernel(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, levels: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``uniform_levels`` with ``levels`` = 2^bits - 1 as a float32 tensor, so that lo, hi and levels may vary per
    value (several tensors quantized in one pass, each at its own bits and range)."""
    step = (hi - lo) / levels
    ok = torch.isfinite(step) & (step != 0)
    safe = torch.where(ok, step, torch.ones_like(step))  # no host sync, unlike an ``if``
    codes = torch.where(ok, torch.round((x - lo) / safe).clamp_min(0.0).minimum(levels), torch.zeros_like(x))
    return codes, torch.where(ok, lo + codes * safe, lo.expand_as(x))


def _range(lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(lo, dtype=torch.float32), torch.tensor(hi, dtype=torch.float32)


def uniform_codes(x: np.ndarray, lo: np.float32, hi: np.float32, bits: int) -> np.ndarray:
    """int64 codes of flat float32 ``x`` on [lo, hi] (``uniform_levels`` on the CPU)."""
    codes, _ = uniform_levels(torch.from_numpy(np.ascontiguousarray(x, np.float32)), *_range(lo, hi), bits)
    return codes.to(torch.int64).numpy()


def uniform_values(codes: np.ndarray, lo: np.float32, hi: np.float32, bits: int) -> np.ndarray:
    """float32 values of ``codes`` on [lo, hi]: ``lo + code * step``, exactly as ``uniform_levels`` computes them."""
    lo_t, hi_t = _range(lo, hi)
    levels = torch.tensor(float((1 << bits) - 1), dtype=torch.float32)
    step = (hi_t - lo_t) / levels
    if not bool(torch.isfinite(step)):
        raise FormatError("quantizer range is too wide for float32; the file is corrupt")
    values = lo_t + torch.from_numpy(codes.astype(np.float32)) * step
    return (values if bool(step != 0) else lo_t.expand(codes.shape)).numpy().astype(np.float32, copy=False)


def _check_range(params: np.ndarray, name: str) -> None:
    if params.shape != (2,) or not np.isfinite(params).all():
        raise FormatError(f"{name} tensor needs 2 finite range values; the file is corrupt")


@QUANTIZERS.register()
class MinMax(Quantizer):
    """Range-based integer quantization (D'OH): codes + per-tensor min and max, no zero point."""

    name = "minmax"
    ranges = True

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        check_bits(bits)
        x = finite_flat(x)
        lo, hi = (np.float32(x.min()), np.float32(x.max())) if x.size else (np.float32(0), np.float32(0))
        return QTensor(uniform_codes(x, lo, hi, bits), np.array([lo, hi], dtype=np.float32), bits)

    def dequantize(self, q: QTensor) -> np.ndarray:
        _check_range(q.params, "minmax")
        check_codes(q)
        return uniform_values(q.codes, q.params[0], q.params[1], q.bits)

    def num_params(self, bits: int, size: int) -> int:
        return 2

    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        if x.numel() == 0:
            return torch.zeros(2, dtype=torch.float32, device=x.device)
        return torch.stack([x.min(), x.max()]).float()

    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return uniform_levels(x, table[0], table[1], bits)[1]

# Outermost level of the MSE-optimal 2^bits-level uniform quantizer of N(0, 1), in standard deviations
# (minimised numerically; matches Max 1960's step sizes 1.596, 0.9957, 0.5860, 0.3352, 0.1881 for 2..32
# levels; tests/test_quantizers.py re-derives the table).
GAUSS_K: dict[int, float] = {
    1: 0.7979, 2: 1.4935, 3: 2.0511, 4: 2.5140, 5: 2.9162, 6: 3.2780, 7: 3.6111, 8: 3.9222,
    9: 4.2155, 10: 4.4938, 11: 4.7591, 12: 5.0131, 13: 5.2571, 14: 5.4920, 15: 5.7189, 16: 5.9381,
}


@QUANTIZERS.register()
class Explicit(Quantizer):
    """Uniform levels on the fixed interval [-1, 1]; no side info (the paper's "Explicit [-1, 1]")."""

    name = "explicit"

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        check_bits(bits)
        codes = uniform_codes(finite_flat(x), -_ONE, _ONE, bits)
        return QTensor(codes, np.zeros(0, dtype=np.float32), bits)

    def dequantize(self, q: QTensor) -> np.ndarray:
        if q.params.size != 0:
            raise FormatError("explicit tensor must carry no quantizer values")
        check_codes(q)
        return uniform_values(q.codes, -_ONE, _ONE, q.bits)

    def num_params(self, bits: int, size: int) -> int:
        return 0

    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        return torch.tensor([-1.0, 1.0], dtype=torch.float32, device=x.device)

    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return uniform_levels(x, table[0], table[1], bits)[1]


def std_range(x: np.ndarray, k: float) -> tuple[np.float32, np.float32]:
    """mean +/- k std (float64 statistics), never wider than the data's own [min, max]."""
    if x.size == 0:
        return np.float32(0), np.float32(0)
    x64 = x.astype(np.float64)
    m, s = float(x64.mean()), float(x64.std())
    return np.float32(max(m - k * s, float(x.min()))), np.float32(min(m + k * s, float(x.max())))


class _StdRule:
    """Uniform levels over mean +/- k std; side info [lo, hi]."""

    def __init__(self, k: float | None) -> None:
        self.k = k

    def k_for(self, bits: int) -> float:
        return GAUSS_K[bits] if self.k is None else self.k

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        lo, hi = std_range(x, self.k_for(bits))
        return QTensor(uniform_codes(x, lo, hi, bits), np.array([lo, hi], dtype=np.float32), bits)

    def table(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        if x.numel() == 0:
            return torch.zeros(2, dtype=torch.float32, device=x.device)
        x = x.float()  # float32 statistics: float64 is missing on some accelerators (MPS)
        m, s, k = x.mean(), x.std(unbiased=False), self.k_for(bits)
        return torch.stack([torch.maximum(m - k * s, x.min()), torch.minimum(m + k * s, x.max())])

    def apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return uniform_levels(x, table[0], table[1], bits)[1]


class _QuantileRule:
    """Levels at the (i + 1/2) / 2^bits quantiles; side info = the sorted levels (exact when few values)."""

    def __init__(self, k: float | None) -> None:
        pass

    def codebook(self, x: np.ndarray, bits: int) -> np.ndarray:
        exact = exact_or_padded(x, 1 << bits)
        if exact is not None:
            return exact
        return np.sort(quantile_levels(np.sort(x.astype(np.float64)), 1 << bits).astype(np.float32))

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        cb = self.codebook(x, bits)
        return QTensor(nearest_codes(x, cb), cb, bits)

    def table(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        return torch_table(self.codebook(finite_flat(x.detach().cpu().numpy()), bits), x.device)

    def apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return torch_nearest(x, table)


LEVEL_RULES: Registry[Callable[[float | None], _StdRule | _QuantileRule]] = Registry("distributional levels rule")
LEVEL_RULES["std"] = _StdRule
LEVEL_RULES["quantile"] = _QuantileRule


@QUANTIZERS.register()
class Distributional(Quantizer):
    """Levels from the weight distribution (module docstring): ``levels`` in ``LEVEL_RULES``;
    ``k`` overrides the per-bits clipping of the std rule (encoder side only)."""

    name = "distributional"

    def __init__(self, levels: str = "std", k: float | None = None) -> None:
        rule = LEVEL_RULES.get(levels)
        if k is not None and not k > 0:
            raise InrzipError(f"distributional k must be positive, got {k}")
        self.levels = levels
        self.rule = rule(k)
        self.ranges = isinstance(self.rule, _StdRule)  # the quantile rule's tables are levels, not a range

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        check_bits(bits)
        return self.rule.quantize(finite_flat(x), bits)

    def dequantize(self, q: QTensor) -> np.ndarray:
        if q.params.size == 2:
            check_codes(q)
            _check_range(q.params, "distributional")
            return uniform_values(q.codes, q.params[0], q.params[1], q.bits)
        return codebook_values(q)

    def num_params(self, bits: int, size: int) -> int | None:
        return None  # 2 (std rule) or up to 2^bits (quantile rule); dequantize checks either form

    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        return self.rule.table(x.reshape(-1), bits)

    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return self.rule.apply(x, table, bits)
