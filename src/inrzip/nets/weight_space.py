"""Training a D'OH network's weights instead of its latent: Adam on W, its steps carried back onto W = B z.

Why: Adam on the latent ``z`` scales each step by one second moment per entry of ``z``, and every entry of
``z`` feeds every layer, so a layer with large gradients sets the step of all the others (the first layer's,
amplified by omega, dominates); the stable rate is then tiny (0.045 / latent) and a fit needs many epochs.
Adam on the weights themselves scales each weight's step by its own gradient history, as it does for a plain
MLP. The step ``dW`` leaves the span of ``B``; it is carried back by ``dz = B^T dW / |b_j|^2`` (each column of
``B`` scaled by its squared norm: a diagonal approximation of the least-squares projection, which costs no
set-up) and the weights are reset to ``B z``, so the network the file stores is the one trained at every carry.

The steps are carried every ``CARRY_EVERY`` steps and at the end of each epoch: in between, Adam steps the weights
as an MLP's and a step costs no product with ``B`` (the two products are most of a D'OH step's fixed cost).
Measured in docs/fitting.md ("D'OH: Adam on the weights"): every 4 steps fits 1.6x the epochs of every step in the
same time and ends better; the exact projection ``(B^T B)^-1 B^T dW`` is better per step but its set-up (about 15
s on one core for 28x9, growing as latent^2 x weights) costs more than it gains within a 60-120 s budget.
"""

from __future__ import annotations

import torch
from torch import nn

from .networks import Layers, layer_shapes
from .parameterizations import DOH, Parameterization

__all__ = ["CARRY_EVERY", "CARRY_SAMPLES", "WeightSpace", "carry_every", "weight_space_for"]

# Steps are carried every CARRY_EVERY steps, or every CARRY_SAMPLES samples where that is more steps (a batch under
# 8192), up to CARRY_MAX. Measured (docs/fitting.md): batch 8192 every 4 steps against 1 and 8 (and 8 again with the
# numba engine), 16 steps lost 0.14-0.41 dB; batch 4096 every 8 steps, D'OH's default since 2026-12-07.
CARRY_EVERY = 4
CARRY_SAMPLES = 32768
CARRY_MAX = 8
_NORM_ROWS = 512


class WeightSpace:
    """The trainable weights of one D'OH network, carried onto ``z`` (and reset to ``B z``) every few steps."""

    def __init__(self, param: DOH, every: int | None = None) -> None:
        self.param, self.every, self._pending = param, max(1, int(every or CARRY_EVERY)), 0
        B = param.B
        # |b_j|^2 per latent entry, summed over blocks of rows: no temporary the size of B, and 20x faster than
        # vector_norm(B, dim=0), whose reduction strides across the rows (benchmarks/sincos_kernels.py)
        norms = sum((blk * blk).sum(0) for blk in B.split(_NORM_ROWS))
        self.col_norms = norms.clamp_min(torch.finfo(B.dtype).tiny)
        with torch.no_grad():
            self._bz = B @ self._z()  # B z, the weights at the last carry
            self.w = nn.Parameter(self._bz.clone())

    def trained(self) -> list[torch.Tensor]:
        """What the optimizer holds: the weights (stepped), the biases, and ``z`` and ``B z`` (moved only by
        ``project``: no gradient reaches them, so Adam skips them, but the guard keeps and restores them with the
        rest, so a rollback leaves all four consistent)."""
        return [self.w, *self.param.biases, self.param.z, self._bz]

    def _z(self) -> torch.Tensor:
        """The latent ``z`` itself (a stored offset plus the seeded init, when the file stores offsets)."""
        return self.param.with_base({"z": self.param.z})["z"]

    def layers(self) -> Layers:
        out, start = [], 0
        biases = self.param.with_base({f"b{k}": b for k, b in enumerate(self.param.biases)})
        for k, (o, i) in enumerate(layer_shapes(self.param.spec)):
            out.append((self.w[start:start + o * i].view(o, i), biases[f"b{k}"]))
            start += o * i
        return out

    def step_done(self) -> None:
        """After each optimizer step: carry the steps onto ``z`` every ``every`` steps."""
        self._pending += 1
        if self._pending >= self.every:
            self.project()

    def flush(self) -> None:
        """Carry the steps not carried yet (at the end of an epoch: the guard, the hooks and the file read z)."""
        if self._pending:
            self.project()

    @torch.no_grad()
    def project(self) -> None:
        """Carry the optimizer's steps on ``w`` since the last carry into ``z`` and reset ``w`` to ``B z``."""
        B, z = self.param.B, self.param.z  # the step is the same on z and on its offset from an init
        z.add_((B.T @ (self.w - self._bz)) / self.col_norms)
        torch.mv(B, self._z(), out=self._bz)
        self.w.copy_(self._bz)
        self._pending = 0


def carry_every(batch_size: int) -> int:
    """Steps between carries for ``batch_size``: ``CARRY_EVERY``, more for a batch under 8192 (every
    ``CARRY_SAMPLES`` samples), never more than ``CARRY_MAX``; 4 for every batch before 2026-12-07."""
    return min(CARRY_MAX, max(CARRY_EVERY, round(CARRY_SAMPLES / max(int(batch_size), 1))))


def weight_space_for(param: Parameterization, batch_size: int | None = None) -> WeightSpace | None:
    """A ``WeightSpace`` for a D'OH network (carried every ``carry_every(batch_size)`` steps, else every
    ``CARRY_EVERY``); None for a parameterization whose stored tensors are its weights (an MLP: Adam on the weights
    is plain Adam) or that stacks several networks."""
    if not isinstance(param, DOH):
        return None
    return WeightSpace(param, carry_every(batch_size) if batch_size else None)
