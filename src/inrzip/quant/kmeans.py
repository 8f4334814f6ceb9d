"""K-means quantizer (seed 000): a per-tensor sorted codebook ("dictionary") of 2^bits centroids.

The codebook is side info stored as float32 and counted in the size; it has ``min(2^bits, size)``
levels, so a tensor with at most 2^bits weights is stored exactly (seed 000 section 1.4) and never
pays for unused entries. Centroids are sorted, so codes are ordered like the values. Decoding is a
lookup, bit-exact everywhere. Fitting details (1-D Lloyd vs scikit-learn) live in ``codebook.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import QUANTIZERS, QTensor, Quantizer, check_bits, finite_flat
from .codebook import (
    KMeansOptions,
    codebook_values,
    exact_or_padded,
    fit_kmeans,
    nearest_codes,
    torch_lloyd_step,
    torch_nearest,
    torch_table,
)

__all__ = ["KMeans"]


@QUANTIZERS.register()
class KMeans(Quantizer):
    """Per-tensor k-means codebook; ``engine`` "lloyd1d" (default: sorted-data Lloyd, best of the
    seedings ``inits``) or "sklearn" (scikit-learn KMeans, k-means++). Options act on the encoder only."""

    name = "kmeans"

    def __init__(self, engine: str = "lloyd1d", inits: tuple[str, ...] | None = None, max_iter: int = 300,
                 warm_iter: int = 20, n_init: int = 1, random_state: int = 0) -> None:
        self.opts = KMeansOptions(engine=engine, inits=inits or KMeansOptions.inits, max_iter=max_iter,
                                  warm_iter=warm_iter, n_init=n_init, random_state=random_state)

    def quantize(self, x: np.ndarray, bits: int, init: np.ndarray | None = None) -> QTensor:
        """Codes + codebook; ``init`` (a previous 2^bits codebook) warm-starts the fit."""
        check_bits(bits)
        x = finite_flat(x)
        cb = fit_kmeans(x, 1 << bits, self.opts, init)
        return QTensor(nearest_codes(x, cb), cb, bits)

    def dequantize(self, q: QTensor) -> np.ndarray:
        return codebook_values(q)

    def num_params(self, bits: int, size: int) -> int:
        return min(1 << bits, size)

    def qat_table(self, x: torch.Tensor, bits: int, prev: torch.Tensor | None) -> torch.Tensor:
        init = None if prev is None else prev[: (prev.numel() + 1) // 2].cpu().numpy()
        cb = fit_kmeans(finite_flat(x.detach().cpu().numpy()), 1 << bits, self.opts, init)
        return torch_table(cb, x.device)

    def qat_apply(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return torch_nearest(x, table)

    def qat_update(self, x: torch.Tensor, table: torch.Tensor, bits: int) -> torch.Tensor:
        return table if x.numel() <= 1 << bits else torch_lloyd_step(x, table)

    def quantize_warm(self, x: np.ndarray, bits: int, table: torch.Tensor | None) -> QTensor:
        """The last training codebook as is (the network QAT optimised); exact codebooks are rebuilt
        from the final weights, and a missing or odd table falls back to a fresh fit."""
        x = finite_flat(x)
        k = 1 << bits
        cb = None if table is None else table[: (table.numel() + 1) // 2].cpu().numpy()
        if cb is None or cb.size != k or exact_or_padded(x, k) is not None:
            return self.quantize(x, bits)
        return QTensor(nearest_codes(x, cb), cb, bits)
