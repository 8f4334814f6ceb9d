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
from .base import QTensor, Quantizer, check_bits, ste

__all__ = ["QATState"]


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
