"""The quantizer interface and registry: float tensors -> small integer codes + side info, and back.

Side info (``params``: a range, a codebook...) is stored in the file as float32 and counted in the size.
``dequantize`` is the single definition of the decoded values, used both by the encoder (to report the
quality of the quantized network) and by the decoder, so they agree exactly.

Every quantizer also has a *table* path for quantization-aware training: ``qat_table`` estimates a small
table (a range or a codebook) from the current weights, possibly at some cost (k-means), and ``qat_apply``
quantizes with it using elementwise torch ops on the weights' device. ``QATState`` (qat.py) refreshes the
table every few steps, so no quantizer goes through NumPy on every training step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..errors import FormatError, InrzipError
from ..registry import Registry

__all__ = ["QTensor", "Quantizer", "QUANTIZERS", "get_quantizer", "check_bits", "check_codes", "ste", "finite_flat"]


@dataclass
class QTensor:
    """A quantized tensor: flat integer codes in [0, 2^bits) and float32 side info."""

    codes: np.ndarray  # (N,) int64
    params: np.ndarray  # (P,) float32, quantizer-specific (e.g. [min, max] or a codebook)
    bits: int

    @property
    def alphabet(self) -> int:
        return 1 << self.bits


def check_bits(bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise InrzipError(f"bits must be an integer between 1 and 16, got {bits!r}")


def check_codes(q: QTensor) -> None:
    """Codes read from a file must lie in [0, 2^bits); anything else means corruption."""
    if q.codes.size and (q.codes.min() < 0 or q.codes.max() >= q.alphabet):
        raise FormatError(f"codes exceed the {q.bits}-bit alphabet; the file is corrupt")


def finite_flat(x: np.ndarray) -> np.ndarray:
    """Flat float32 copy of ``x``; non-finite weights mean the fit diverged, which no quantizer can fix."""
    x = np.asarray(x, dtype=np.float32).ravel()
    if x.size and not np.isfinite(x).all():
        raise InrzipError("cannot quantize non-finite weights; the fit diverged — lower the learning rate")
    return x


def ste(x: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
    """Straight-through estimator: forward exactly ``xq``, gradient of the identity to ``x``.

    ``xq + (x - x.detach())`` adds an exact zero; the usual ``x + (xq - x).detach()`` rounds twice and
    can miss ``xq`` by an ulp, so the trained network would not be the one that gets stored."""
    return xq.detach() + (x - x.detach())


class Quantizer(ABC):
    """Maps float tensors to codes and back, with a table path for QAT. Register with ``@QUANTIZERS.register()``."""

    name: ClassVar[str]
    ranges: bool = False  # tables are one uniform [lo, hi] range per tensor, so a fit can train against them

    @abstractmethod
    def quantize(self, x: np.ndarray, bits: int) -> QTensor:
        """Quantize a flat float32 array at ``bits`` per value."""

    @abstractmethod
    def dequantize(self, q: QTensor) -> np.ndarray:
        """float32 values of the codes; must be exact and deterministic (plain IEEE ops only)."""

    def num_params(self, bits: int, size: int) -> int | None:
        """Side-info floats the decoder needs, or None if it varies; used to validate files."""
        return None

    @abstractmethod
    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        """Table (float32, on ``x.device``) for detached flat ``x``; ``prev`` is the last table, for warm starts."""

    @abstractmethod
    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        """Quantized values of detached ``x`` under ``table``, equal to ``dequantize(quantize(x))`` when the
        table is the one PTQ would choose."""

    def qat_update(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        """Cheap on-device table update between refreshes (default: keep the table)."""
        return table

    def quantize_warm(self, x: np.ndarray, bits: int, table: torch.Tensor | None) -> QTensor:
        """Final post-QAT quantization; codebook quantizers keep the training codebook."""
        return self.quantize(x, bits)

    def fake_quantize(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Stateless QAT forward (table re-estimated on every call); ``QATState`` caches the table instead."""
        check_bits(bits)
        xd = x.detach()
        return ste(x, self.qat_apply(xd, self.qat_table(xd.reshape(-1), bits, None), bits))


QUANTIZERS: Registry[type[Quantizer]] = Registry("quantizer")


def get_quantizer(name: str) -> Quantizer:
    """A quantizer with its default options."""
    return QUANTIZERS.get(name)()
