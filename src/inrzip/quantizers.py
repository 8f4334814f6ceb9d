"""Quantizers behind one interface and registry: tensors -> small integer codes + side info.

Side info (``params``: a range, a codebook...) is stored in the file as float32 and counted in
the size. ``dequantize`` is the single definition of the decoded values, used both by the encoder
(to report the quality of the quantized network) and the decoder, so they agree exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .errors import FormatError, InrzipError

__all__ = ["QTensor", "Quantizer", "QUANTIZERS", "register_quantizer", "get_quantizer", "MinMax"]


@dataclass
class QTensor:
    """A quantized tensor: flat integer codes in [0, 2^bits) and float32 side info."""

    codes: np.ndarray  # (N,) int64
    params: np.ndarray  # (P,) float32, quantizer-specific (e.g. [min, max] or a codebook)
    bits: int

    @property
    def alphabet(self) -> int:
        return 1 << self.bits


class Quantizer(ABC):
    """Maps float tensors to codes and back. Subclasses register with ``@register_quantizer``."""

    name: ClassVar[str]

    @abstractmethod
    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        """Quantize a flat float32 array at ``bits`` per value."""

    @abstractmethod
    def dequantize(self, q: QTensor) -> np.ndarray:
        """float32 values of the codes; must be exact and deterministic (plain IEEE ops only)."""

    def num_params(self, bits: int, size: int) -> int | None:
        """Side-info floats the decoder needs, or None if it varies; used to validate files."""
        return None

    def fake_quantize(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Straight-through estimator for QAT: forward = quantized values, backward = identity."""
        q = self.quantize(x.detach().cpu().numpy().astype(np.float32).ravel(), bits)
        xq = torch.from_numpy(self.dequantize(q)).to(x.device, x.dtype).view_as(x)
        return xq + (x - x.detach())  # forward exactly xq (x + (xq - x) can miss by one ulp)


QUANTIZERS: dict[str, type[Quantizer]] = {}


def register_quantizer(cls: type[Quantizer]) -> type[Quantizer]:
    QUANTIZERS[cls.name] = cls
    return cls


def get_quantizer(name: str) -> Quantizer:
    try:
        return QUANTIZERS[name]()
    except KeyError:
        raise InrzipError(f"unknown quantizer {name!r}; choose from {sorted(QUANTIZERS)}") from None


def check_bits(bits: int) -> None:
    if not 1 <= bits <= 16:
        raise InrzipError(f"bits must be between 1 and 16, got {bits}")


def uniform_codes(x: np.ndarray, lo: np.float32, hi: np.float32, bits: int) -> np.ndarray:
    """Nearest of 2^bits uniform levels on [lo, hi] (values outside are clipped)."""
    levels = (1 << bits) - 1
    step = np.float32(hi - lo) / np.float32(levels)
    if step == 0 or not np.isfinite(step):
        return np.zeros(x.shape, dtype=np.int64)
    return np.clip(np.rint((x - lo) / step), 0, levels).astype(np.int64)


def uniform_values(codes: np.ndarray, lo: np.float32, hi: np.float32, bits: int) -> np.ndarray:
    levels = (1 << bits) - 1
    step = np.float32(hi - lo) / np.float32(levels)
    return (np.float32(lo) + codes.astype(np.float32) * step).astype(np.float32)


@register_quantizer
class MinMax(Quantizer):
    """Range-based integer quantization (D'OH): codes + per-tensor min and max, no zero point."""

    name = "minmax"

    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        check_bits(bits)
        x = np.asarray(x, dtype=np.float32).ravel()
        lo, hi = (np.float32(x.min()), np.float32(x.max())) if x.size else (np.float32(0), np.float32(0))
        return QTensor(uniform_codes(x, lo, hi, bits), np.array([lo, hi], dtype=np.float32), bits)

    def dequantize(self, q: QTensor) -> np.ndarray:
        if q.params.shape != (2,):
            raise FormatError("minmax tensor needs exactly 2 range values")
        return uniform_values(q.codes, q.params[0], q.params[1], q.bits)

    def num_params(self, bits: int, size: int) -> int:
        return 2


from . import quant as _quant  # noqa: E402,F401  registers explicit, distributional, kmeans
