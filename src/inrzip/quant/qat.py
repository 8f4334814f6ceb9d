"""Quantization-aware training: one ``QATState`` per stored tensor, called every training step.

    states = {name: QATState(get_quantizer(q), bits, refresh=10) for name in param.stored()}
    layers = param.layers_from({k: states[k](v) for k, v in param.stored().items()})   # each step
    ...
    qtensors = {k: states[k].finalize(v.detach().cpu().numpy()) for k, v in param.stored().items()}

Forward: the quantized weights; backward: identity (straight-through estimator). The table (range or
codebook) is re-estimated from the current weights every ``refresh`` calls and cached on the weights'
device in between, so k-means costs one CPU round trip per ``refresh`` steps (warm-started from the
previous codebook) while the per-step work is a ``bucketize`` on the device. Uniform quantizers' tables
are a few torch reductions, so ``refresh=1`` costs nothing there.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InrzipError
from .base import QTensor, Quantizer, check_bits, finite_flat, ste
from .uniform import uniform_codes, uniform_levels

__all__ = ["QATState", "FixedGrid"]


class QATState:
    """Fake-quantizes one tensor per training step, refreshing its table every ``refresh`` steps."""

    def __init__(self, quantizer: Quantizer, bits: int, refresh: int = 1) -> None:
        check_bits(bits)
        if refresh < 1:
            raise InrzipError(f"QAT refresh must be at least 1 step, got {refresh}")
        self.quantizer, self.bits, self.refresh = quantizer, bits, refresh
        self.table: torch.Tensor | None = None
        self.step = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        q, xd = self.quantizer, x.detach()
        if self.table is None or self.step % self.refresh == 0:
            self.table = q.qat_table(xd.reshape(-1), self.bits, self.table)
        else:
            self.table = q.qat_update(xd.reshape(-1), self.table, self.bits)
        self.step += 1
        return ste(x, q.qat_apply(xd, self.table, self.bits))

    def finalize(self, x: np.ndarray) -> QTensor:
        """Quantize the final weights as training saw them: k-means keeps the last training codebook
        (re-fitting from scratch would undo most of the QAT gain: docs/quantizers.md)."""
        return self.quantizer.quantize_warm(x, self.bits, self.table)


class FixedGrid:
    """Fake-quantizes one tensor on fixed uniform levels: a file's chosen [lo, hi] and bits, kept while training.

    Why: fine-tuning after the rate control has chosen each tensor's bits and range (``ratecontrol``) trains
    against exactly the levels the file will store, so the float network's quality moves into the file. A
    range re-estimated every step (``QATState``) would move the levels and, with them, the file's size."""

    def __init__(self, q: QTensor) -> None:
        if q.params.size != 2:
            raise InrzipError("a fixed grid needs a uniform quantization (a [lo, hi] range), not a codebook")
        check_bits(q.bits)
        self.lo, self.hi, self.bits = np.float32(q.params[0]), np.float32(q.params[1]), q.bits
        self._range: tuple[torch.Tensor, torch.Tensor] | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._range is None or self._range[0].device != x.device:
            self._range = (torch.tensor(self.lo, device=x.device), torch.tensor(self.hi, device=x.device))
        return ste(x, uniform_levels(x.detach(), *self._range, self.bits)[1])

    def finalize(self, x: np.ndarray) -> QTensor:
        """The codes of the trained weights on the fixed levels: what training saw, bit for bit."""
        flat = finite_flat(x)
        return QTensor(uniform_codes(flat, self.lo, self.hi, self.bits), np.array([self.lo, self.hi], np.float32),
                       self.bits)
