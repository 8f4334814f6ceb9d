"""Training a D'OH network's weights instead of its latent: Adam on W, each step carried back onto W = B z.

Why: Adam on the latent ``z`` scales each step by one second moment per entry of ``z``, and every entry of
``z`` feeds every layer, so a layer with large gradients sets the step of all the others (the first layer's,
amplified by omega, dominates); the stable rate is then tiny (0.045 / latent) and a fit needs many epochs.
Adam on the weights themselves scales each weight's step by its own gradient history, as it does for a plain
MLP. The step ``dW`` leaves the span of ``B``; it is carried back by ``dz = B^T dW / |b_j|^2`` (each column of
``B`` scaled by its squared norm: a diagonal approximation of the least-squares projection, which costs no
set-up) and the weights are reset to ``B z``, so the network trained is always the D'OH network the file
stores. Measured in docs/fitting.md ("D'OH: Adam on the weights"): the exact projection
``(B^T B)^-1 B^T dW`` gains another 0.4 dB per epoch count but its set-up grows as latent^2 x weights
(19 s for 28x9), so the diagonal one is kept.
"""

from __future__ import annotations

import torch
from torch import nn

from .networks import Layers, layer_shapes
from .parameterizations import DOH, Parameterization

__all__ = ["WeightSpace", "weight_space_for"]


class WeightSpace:
    """The trainable weights of one D'OH network, kept equal to ``B z`` after every step."""

    def __init__(self, param: DOH) -> None:
        self.param = param
        B = param.B
        # |b_j|^2 per latent entry, without a temporary the size of B
        self.col_norms = torch.linalg.vector_norm(B, dim=0).square().clamp_min(torch.finfo(B.dtype).tiny)
        with torch.no_grad():
            self._bz = B @ param.z  # B z, the weights before the optimizer's step
            self.w = nn.Parameter(self._bz.clone())

    def trained(self) -> list[torch.Tensor]:
        """What the optimizer holds: the weights (stepped), the biases, and ``z`` and ``B z`` (moved only by
        ``project``: no gradient reaches them, so Adam skips them, but the guard keeps and restores them with the
        rest, so a rollback leaves all four consistent)."""
        return [self.w, *self.param.biases, self.param.z, self._bz]

    def layers(self) -> Layers:
        out, start = [], 0
        for (o, i), b in zip(layer_shapes(self.param.spec), self.param.biases):
            out.append((self.w[start:start + o * i].view(o, i), b))
            start += o * i
        return out

    @torch.no_grad()
    def project(self) -> None:
        """Carry the optimizer's step on ``w`` into ``z`` and reset ``w`` to the D'OH weights ``B z``."""
        B, z = self.param.B, self.param.z
        z.add_((B.T @ (self.w - self._bz)) / self.col_norms)
        torch.mv(B, z, out=self._bz)
        self.w.copy_(self._bz)


def weight_space_for(param: Parameterization) -> WeightSpace | None:
    """A ``WeightSpace`` for a D'OH network; None for a parameterization whose stored tensors are its weights
    (an MLP: Adam on the weights is plain Adam) or that stacks several networks."""
    return WeightSpace(param) if isinstance(param, DOH) else None
