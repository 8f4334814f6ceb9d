"""The whole SIREN stack as one autograd Function: forward and a hand-written backward.

Same function as ``networks.forward`` for sine networks, computed with fewer passes over the
activations, which is what a 28-wide network's step is made of on CPU:

- omega is folded into the weights: ``sin(omega (W h + b)) = sin((omega W) h + omega b)``, so no
  pass multiplies activations by omega, forward or backward (the fold costs O(weights), inside the
  Function, so autograd sees one node per step instead of one per weight tensor);
- bias and matmul are one ``addmm``; sin and cos of a pre-activation come from one kernel in the
  forward (``kernels.py``), so the backward's chain rule is a single in-place multiply;
- only what the backward needs is kept (each layer's input and cos), and it is reused in place.

With ``low`` (a dtype, e.g. bfloat16: mixed precision), the hidden-to-hidden layers' GEMMs, forward and
backward, run in that dtype and their inputs are kept in it for the backward; the first layer (whose
phase error omega amplifies), the last layer, sin/cos, the gradients handed to the optimiser and the
master weights stay float32.

Tensors are 2-D for one model, ``(N, features)``, or 3-D for K stacked models, ``(K, N, features)``
with weights ``(K, out, in)`` (see ``fit/trainer.py``); the first layer's input may be shared ``(N, in)``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ...errors import InrzipError
from ...nets.networks import Layers, NetworkSpec, encode_inputs, forward, linear
from .kernels import SinCos, get_sincos

__all__ = ["SineStack", "make_forward", "Forward", "PRECISIONS"]

Forward = Callable[[Layers, torch.Tensor], torch.Tensor]


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


def _low_layers(n_layers: int, low: torch.dtype | None) -> set[int]:
    """Indices of the layers computed in ``low``: the hidden-to-hidden ones (none without ``low``)."""
    return set(range(1, n_layers - 1)) if low is not None else set()


class SineStack(torch.autograd.Function):
    """``SineStack.apply(sincos, omega, low, x, W0, b0, ..., WL, bL)``: hidden layers ``sin(omega (W h + b))``,
    last layer linear; ``low``: None, or the dtype of the hidden GEMMs. Gradients are w.r.t. the unscaled
    W, b, like ``networks.forward``'s."""

    @staticmethod
    def forward(ctx: Any, sincos: SinCos, omega: float, low: torch.dtype | None, x: torch.Tensor,
                *weights: torch.Tensor) -> torch.Tensor:
        ctx.omega = omega
        wb = [t * omega for t in weights[:-2]] + list(weights[-2:])  # O(weights): folds omega once
        n_layers = len(wb) // 2
        lows = _low_layers(n_layers, low)
        wb = [t.to(low) if i // 2 in lows else t for i, t in enumerate(wb)]
        inputs, coses, h = [], [], x
        for k in range(n_layers - 1):
            if k in lows:
                h = h.to(low)
            sin, cos = sincos(linear(h, wb[2 * k], wb[2 * k + 1]).float())
            inputs.append(h)
            coses.append(cos)
            h = sin
        inputs.append(h)
        ctx.save_for_backward(*wb)
        ctx.inputs, ctx.coses = inputs, coses  # intermediates, freed (or overwritten) by backward
        return linear(h, wb[-2], wb[-1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        wb, inputs, coses = ctx.saved_tensors, ctx.inputs, ctx.coses
        ctx.inputs = ctx.coses = None
        n_layers = len(wb) // 2
        grads: list[torch.Tensor | None] = [None] * len(wb)
        gz, gh = grad.contiguous(), grad  # gh: dL/d(this layer's output), set by the layer above
        for k in range(n_layers - 1, -1, -1):
            if k < n_layers - 1:
                gz = coses[k].mul_(gh)  # d sin(z) = cos(z) dz, in the buffer of cos
            gz_k = gz.to(wb[2 * k].dtype)  # the layer's GEMM dtype; a no-op in float32
            grads[2 * k] = _grad_w(gz_k, inputs[k]).float()
            grads[2 * k + 1] = _grad_b(gz)
            if k > 0:
                gh = _grad_h(gz_k, wb[2 * k]).float()
        gx = None
        if ctx.needs_input_grad[3]:
            gx = _grad_h(gz, wb[0])
            if inputs[0].dim() == 2 and gx.dim() == 3:
                gx = gx.sum(0)
        for g in grads[:-2]:
            g.mul_(ctx.omega)  # chain rule of the fold, on weight-sized tensors
        return (None, None, None, gx, *grads)


PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}


def make_forward(spec: NetworkSpec, kernel: str | None = "eager", device: torch.device | str = "cpu",
                 precision: str = "fp32", encoded: bool = False) -> Forward:
    """``forward(layers, coords)`` equal to ``networks.forward(spec, ...)``; the fused stack for sine
    networks, the generic autograd forward otherwise (or when ``kernel`` is None). ``precision`` other
    than fp32 needs the fused stack (it is where the hidden GEMMs change dtype). ``encoded``: the fused
    stack is handed ``encode_inputs(spec, coords)`` (the trainer encodes an image's pixels once), not coords."""
    if precision not in PRECISIONS:
        raise InrzipError(f"unknown precision {precision!r}; choose from {sorted(PRECISIONS)}")
    if spec.activation != "sine" or kernel is None:
        if PRECISIONS[precision] is not None:
            raise InrzipError(f"precision {precision} needs a sine network and the fast or compiled engine")
        if encoded:
            raise InrzipError("encoded inputs need a sine network and the fused stack (fast, compiled or numba)")
        return lambda layers, coords: forward(spec, layers, coords)
    sincos, low = get_sincos(kernel, device), PRECISIONS[precision]

    def fast(layers: Layers, coords: torch.Tensor) -> torch.Tensor:
        h = coords if encoded else encode_inputs(spec, coords)
        return SineStack.apply(sincos, spec.omega, low, h, *[t for layer in layers for t in layer])
    return fast
