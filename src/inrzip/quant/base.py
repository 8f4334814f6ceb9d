"""Quantizers whose QAT forward is a cheap function of a small *table* (a range or a codebook).

Splitting "estimate the table" (``qat_table``: may be costly, e.g. k-means) from "apply it"
(``qat_apply``: elementwise torch ops on the tensor's device) lets ``QATState`` refresh the table
only every few steps while every step still sees quantized weights.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch

from ..errors import FormatError
from ..quantizers import QTensor, Quantizer

__all__ = ["TableQuantizer", "ste", "torch_uniform", "check_codes"]


def check_codes(q: QTensor) -> None:
    """Codes read from a file must lie in [0, 2^bits); anything else means corruption."""
    if q.codes.size and (q.codes.min() < 0 or q.codes.max() >= q.alphabet):
        raise FormatError(f"codes exceed the {q.bits}-bit alphabet; the file is corrupt")


def ste(x: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
    """Straight-through estimator: forward exactly ``xq``, gradient of the identity to ``x``.

    ``xq + (x - x.detach())`` adds an exact zero; the usual ``x + (xq - x).detach()`` rounds twice and
    can miss ``xq`` by an ulp, so the trained network would not be the one that gets stored."""
    return xq.detach() + (x - x.detach())


def torch_uniform(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int) -> torch.Tensor:
    """Nearest of 2^bits uniform levels on [lo, hi], clipped; float32 ops in the same order as
    ``quantizers.uniform_codes``/``uniform_values`` so the CPU result equals PTQ's."""
    levels = float((1 << bits) - 1)
    step = (hi - lo) / levels
    ok = torch.isfinite(step) & (step != 0)  # a constant tensor: every value decodes to lo
    safe = torch.where(ok, step, torch.ones_like(step))  # no host sync, unlike an ``if``
    codes = torch.clamp(torch.round((x - lo) / safe), 0.0, levels)
    return torch.where(ok, lo + codes * safe, lo.expand_as(x))


class TableQuantizer(Quantizer):
    """A ``Quantizer`` with a table-based QAT path (see module docstring)."""

    @abstractmethod
    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        """Table (float32, on ``x.device``) for detached ``x``; ``prev`` is the last table, for warm starts."""

    @abstractmethod
    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        """Quantized values of detached ``x`` under ``table`` (no gradient needed)."""

    def qat_update(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        """Cheap on-device table update between refreshes (default: keep the table)."""
        return table

    def quantize_warm(self, x: np.ndarray, bits: int, table: torch.Tensor | None) -> QTensor:
        """Final post-QAT quantization; codebook quantizers keep the training codebook."""
        return self.quantize(x, bits)

    def fake_quantize(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Stateless STE (table re-estimated on every call); ``QATState`` caches it instead."""
        xd = x.detach()
        return ste(x, self.qat_apply(xd, self.qat_table(xd, bits, None), bits))
