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

from typing import Iterator

import numpy as np
import torch

from ..errors import InrzipError
from .base import QTensor, Quantizer, check_bits, finite_flat, ste
from .uniform import levels_kernel, uniform_codes, uniform_levels

__all__ = ["QATState", "FixedGrid", "LearnedGrids"]


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


class LearnedGrids:
    """Fixed grids for every stored tensor of a network whose centres and steps train with the weights: learned
    quantization steps (LSQ, Esser et al., ICLR 2020), each tensor's bits kept.

    Why: the rate control picks each tensor's range for the least error *in the weights*; the file is judged by
    the error *in the signal*, and a tensor the output is sensitive to deserves finer levels than one it is not.
    The forward pass is exactly ``FixedGrid``'s at the current ranges (what training sees is what the file
    stores); the gradient to a range is LSQ's: ``round(u) - u`` per value inside it, the end level's code outside.
    ``theta`` (T, 2) holds each tensor's (centre shift in initial steps, log step change), divided by ``gain`` so
    that an optimizer shared with the weights moves the grids ``gain`` times faster than its own rate;
    ``keep_rate`` holds the file's size. All tensors go through one pass of elementwise ops (laid end to end), so
    the cost per step does not grow with the number of tensors."""

    def __init__(self, tables: dict[str, QTensor], gain: float) -> None:
        grids = [FixedGrid(t) for t in tables.values()]  # checks: uniform ranges, valid bits
        self.names, self.bits = list(tables), [g.bits for g in grids]
        self.counts = [int(t.codes.size) for t in tables.values()]
        self.ends = torch.tensor([[g.lo, g.hi] for g in grids], dtype=torch.float32)
        self.levels = torch.tensor([float((1 << b) - 1) for b in self.bits], dtype=torch.float32)
        step0 = (self.ends[:, 1].double() - self.ends[:, 0].double()) / self.levels.double()
        self.live = (step0 > 0).float()  # a constant tensor (step 0) keeps its one level
        self.step0 = step0.float()
        self.gain = float(gain)
        self.theta = torch.zeros(len(grids), 2, dtype=torch.float32, requires_grad=True)
        sizes = torch.tensor(self.counts, dtype=torch.int64)
        self._index = torch.repeat_interleave(torch.arange(len(grids)), sizes)  # each value's tensor
        self._value_levels = self.levels[self._index]
        self._weight = sizes.float() * self.live  # keep_rate's n_t (constant tensors take no part)

    def __iter__(self) -> Iterator[str]:  # the tensors' names, as a dict of grids gives them
        return iter(self.names)

    def to(self, device: torch.device) -> LearnedGrids:
        """Move every tensor here (before an optimizer holds ``theta``)."""
        self.theta = self.theta.detach().to(device).requires_grad_(True)
        for name in ("ends", "levels", "live", "step0", "_index", "_value_levels", "_weight"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def ranges(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lo, hi) per tensor, float32, differentiable in ``theta``; exactly the chosen ranges while it is 0."""
        g = self.gain * self.theta * self.live[:, None]
        shift = self.step0 * g[:, 0]
        widen = 0.5 * (self.ends[:, 1] - self.ends[:, 0]) * torch.expm1(g[:, 1])
        return self.ends[:, 0] + (shift - widen), self.ends[:, 1] + (shift + widen)

    def __call__(self, stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The quantized values of ``stored`` (straight through to the weights, LSQ to ``theta``)."""
        flat = torch.cat([stored[n].reshape(-1) for n in self.names])
        lo, hi = (v[self._index] for v in self.ranges())
        levels, xd = self._value_levels, flat.detach()
        exact = levels_kernel(xd, lo.detach(), hi.detach(), levels)[1]
        step = (hi - lo) / levels
        step = torch.where(step > 0, step, torch.ones_like(step))
        u = (xd - lo) / step
        lsq = lo + step * (u + (torch.round(u) - u).detach()).clamp_min(0.0).minimum(levels)
        out = exact + (flat - xd) + (lsq - lsq.detach())
        parts = out.split(self.counts)
        return {n: p.view_as(stored[n]) for n, p in zip(self.names, parts)}

    def log_step_changes(self) -> np.ndarray:
        """Natural log of each tensor's step over its chosen one."""
        return (self.gain * self.theta[:, 1].detach() * self.live).cpu().numpy()

    def keep_rate(self) -> None:
        """Shift every log step by one amount so that sum(n_t log step_t) is as it started.

        Why: a uniformly quantized tensor of n values costs about n (h - log2 step) bits (h its differential
        entropy), so with this sum fixed the file's size stays put while the steps trade precision between
        tensors (the rate control's allocation, made continuous). Called after every optimizer step."""
        with torch.no_grad():
            n = self._weight
            drift = (n * self.theta[:, 1]).sum() / n.sum().clamp_min(1.0)
            self.theta[:, 1] -= drift * self.live

    def finalize(self, stored: dict[str, np.ndarray]) -> dict[str, QTensor]:
        """Every tensor's codes on its trained range, as the last training step saw them."""
        with torch.no_grad():
            lo, hi = (v.cpu().numpy().astype(np.float32) for v in self.ranges())
        return {n: QTensor(uniform_codes(finite_flat(stored[n]), lo[i], hi[i], b), np.array([lo[i], hi[i]], np.float32),
                           b) for i, (n, b) in enumerate(zip(self.names, self.bits))}
