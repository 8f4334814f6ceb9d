"""Entropy-aware training: a differentiable estimate of the stored values' coded size, added to the loss.

A file stores each tensor quantized on uniform levels whose step is tied to the tensor's spread (the
distributional quantizer: mean +- k std, ``--bpp``'s choice), and range-codes the codes. Because the step
scales with the tensor, the coded size does not depend on the tensor's scale, only on the *shape* of its
distribution. Under a Laplace model of scale b (the mean absolute deviation) a value costs about
log2(2e b / step) bits, so a tensor of n values costs

    n * (log2(b / std) + log2(e (2^bits - 1) / k_bits))

which falls as the tensor becomes peaked and heavy-tailed (most values near the mean, a few large ones carry
the signal). Its gradient pulls small deviations towards the mean and pushes large ones out, with no pull
on the tensor's scale; ``lambda`` (in loss units per bit per sample) trades it against the distortion.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable

import torch

from ..quant.uniform import GAUSS_K

__all__ = ["tensor_bits", "estimated_bits"]

_TINY = 1e-12


def tensor_bits(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Estimated coded bits of ``w`` at ``bits`` on distributional levels (Laplace code length; see module)."""
    return estimated_bits([w], bits)


@lru_cache(maxsize=16)
def _segments(sizes: tuple[int, ...], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(segment index of every value, values per segment) of tensors of ``sizes`` laid end to end."""
    counts = torch.tensor(sizes, dtype=torch.int64)
    index = torch.repeat_interleave(torch.arange(len(sizes)), counts)
    return index.to(device), counts.to(device=device, dtype=torch.float32)


def estimated_bits(tensors: Iterable[torch.Tensor], bits: int) -> torch.Tensor:
    """Sum of the estimate over the stored tensors (the file's payload as the rate term sees it), computed on
    the tensors laid end to end with per-tensor segment sums: a fixed dozen ops per training step, whatever
    the number of tensors."""
    flat_parts = [t.reshape(-1) for t in tensors]
    flat = torch.cat(flat_parts).float()
    index, n = _segments(tuple(p.numel() for p in flat_parts), str(flat.device))

    def seg_mean(v: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(n).index_add(0, index, v) / n.clamp_min(1.0)

    dev = flat - seg_mean(flat)[index]
    b, std = seg_mean(dev.abs()), (seg_mean(dev.square()) + _TINY ** 2).sqrt()  # no 1/0 gradient at std 0
    per_value = torch.log2((b + _TINY) / std) + math.log2(math.e * ((1 << bits) - 1) / GAUSS_K[bits])
    return torch.where(n >= 2, n * per_value, torch.zeros_like(n)).sum()
