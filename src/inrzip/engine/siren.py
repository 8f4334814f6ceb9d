"""The whole SIREN stack as one autograd Function: forward and a hand-written backward.

Same function as ``networks.forward`` for sine networks, computed with fewer passes over the
activations, which is what a 28-wide network's step is made of on CPU:

- omega is folded into the weights: ``sin(omega (W h + b)) = sin((omega W) h + omega b)``, so no
  pass multiplies activations by omega, forward or backward (the fold costs O(weights), inside the
  Function, so autograd sees one node per step instead of one per weight tensor);
- bias and matmul are one ``addmm``; sin and cos of a pre-activation come from one kernel in the
  forward (``kernels.py``), so the backward's chain rule is a single in-place multiply;
- only what the backward needs is kept (each layer's input and cos), and it is reused in place.

Tensors are 2-D for one model, ``(N, features)``, or 3-D for K stacked models, ``(K, N, features)``
with weights ``(K, out, in)`` (see ``batched.py``); the first layer's input may be shared ``(N, in)``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..networks import Layers, NetworkSpec, forward, positional_encoding
from .kernels import SinCos, get_sincos

__all__ = ["SineStack", "make_forward", "Forward"]

Forward = Callable[[Layers, torch.Tensor], torch.Tensor]


def _linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h @ w^T + b for one model (addmm) or K models (baddbmm; a shared 2-D h is broadcast)."""
    if w.dim() == 2:
        return torch.addmm(b, h, w.t())
    if h.dim() == 2:
        h = h.expand(w.shape[0], *h.shape)
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def _grad_w(gz: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """dL/dW = gz^T h, per model."""
    if gz.dim() == 2:
        return gz.t().mm(h)
    if h.dim() == 2:
        return torch.matmul(gz.transpose(1, 2), h)
    return torch.bmm(gz.transpose(1, 2), h)


def _grad_h(gz: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """dL/dh = gz W, per model."""
    return gz.mm(w) if gz.dim() == 2 else torch.bmm(gz, w)


def _grad_b(gz: torch.Tensor) -> torch.Tensor:
    """dL/db = column sums of gz; as a GEMV for one model (2x faster than sum(0) on (8192, 28))."""
    if gz.dim() == 2:
        return torch.mv(gz.t(), gz.new_ones(gz.shape[0]))
    return gz.sum(-2)


class SineStack(torch.autograd.Function):
    """``SineStack.apply(sincos, omega, x, W0, b0, ..., WL, bL)``: hidden layers ``sin(omega (W h + b))``,
    last layer linear. Gradients are w.r.t. the unscaled W, b, like ``networks.forward``'s."""

    @staticmethod
    def forward(ctx: Any, sincos: SinCos, omega: float, x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        ctx.omega = omega
        wb = [t * omega for t in weights[:-2]] + list(weights[-2:])  # O(weights): folds omega once
        n_layers = len(wb) // 2
        inputs, coses, h = [], [], x
        for k in range(n_layers - 1):
            sin, cos = sincos(_linear(h, wb[2 * k], wb[2 * k + 1]))
            inputs.append(h)
            coses.append(cos)
            h = sin
        inputs.append(h)
        ctx.save_for_backward(*wb)
        ctx.inputs, ctx.coses = inputs, coses  # intermediates, freed (or overwritten) by backward
        return _linear(h, wb[-2], wb[-1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        wb, inputs, coses = ctx.saved_tensors, ctx.inputs, ctx.coses
        ctx.inputs = ctx.coses = None
        n_layers = len(wb) // 2
        grads: list[torch.Tensor | None] = [None] * len(wb)
        gz = grad.contiguous()
        for k in range(n_layers - 1, -1, -1):
            if k < n_layers - 1:
                gz = coses[k].mul_(gh)  # d sin(z) = cos(z) dz, in the buffer of cos
            grads[2 * k] = _grad_w(gz, inputs[k])
            grads[2 * k + 1] = _grad_b(gz)
            if k > 0:
                gh = _grad_h(gz, wb[2 * k])
        gx = None
        if ctx.needs_input_grad[2]:
            gx = _grad_h(gz, wb[0])
            if inputs[0].dim() == 2 and gx.dim() == 3:
                gx = gx.sum(0)
        for g in grads[:-2]:
            g.mul_(ctx.omega)  # chain rule of the fold, on weight-sized tensors
        return (None, None, gx, *grads)


def make_forward(spec: NetworkSpec, kernel: str | None = "eager", device: torch.device | str = "cpu") -> Forward:
    """``forward(layers, coords)`` equal to ``networks.forward(spec, ...)``; the fused stack for sine
    networks, the generic autograd forward otherwise (or when ``kernel`` is None)."""
    if spec.activation != "sine" or kernel is None:
        return lambda layers, coords: forward(spec, layers, coords)
    sincos = get_sincos(kernel, device)

    def fast(layers: Layers, coords: torch.Tensor) -> torch.Tensor:
        h = positional_encoding(coords, spec.pe_freqs)
        return SineStack.apply(sincos, spec.omega, h, *[t for layer in layers for t in layer])
    return fast
