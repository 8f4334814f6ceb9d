"""D'OH's ``W_l = B_l z`` with the generation of ``B_l`` fused into the product, compiled by Numba.

Why: decoding a D'OH file regenerates every entry of ``B`` (weights x latent, 34 million for a 28x9 network
with PE) and the NumPy reference (``rng.uniform`` then ``parameterizations.tree_dot``) makes some twenty passes
over memory per entry: 18 ns each, most of a decode. Here each row of ``B`` is hashed, scaled, multiplied by
``z`` and summed in one loop over a row-sized buffer, in exactly the reference's operations and order (the same
SplitMix64 stream, ``((k * 2^-53) * 2 - 1) * bound``, the products summed by the same halving tree), so the
weights are bit-identical to the reference's; tests/test_fused_bz.py checks it on hostile values too. IEEE
rules hold because Numba compiles without fast-math (no reassociation, no fused multiply-add).

The functions release the GIL, so callers split the rows over threads as they did with the reference. The
compiled code is cached on disk (``cache=True``): only the first decode on a machine pays the compilation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import rng

__all__ = ["doh_rows", "b_float32"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_SCALE = 1.0 / 9007199254740992.0  # 2^-53, as rng._SCALE


@njit(nogil=True, cache=True)
def _rows_kernel(key: np.uint64, first_index: np.uint64, n_rows: int, latent: int, bound: float,
                 z: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled; checked against the reference
    """out[r] = sum_j B[row0 + r, j] z[j], rows from entry ``first_index`` of the stream keyed ``key``."""
    buf = np.empty(max(latent, 1), dtype=np.float64)
    half = 1
    while half * 2 < latent:  # the first halving of the padded length 2 * half >= latent
        half *= 2
    for r in range(n_rows):
        idx = first_index + np.uint64(r) * np.uint64(latent)
        for j in range(latent):
            x = key + (idx + np.uint64(j) + _ONE) * _GOLDEN
            x = (x ^ (x >> _S30)) * _M1
            x = (x ^ (x >> _S27)) * _M2
            x = x ^ (x >> _S31)
            u = np.float64(x >> _S11) * _SCALE
            buf[j] = ((u * 2.0 - 1.0) * bound) * z[j]
        if latent == 1:
            out[r] = buf[0] + 0.0
            continue
        for j in range(latent - half):
            buf[j] = buf[j] + buf[j + half]
        for j in range(latent - half, half):
            buf[j] = buf[j] + 0.0
        h = half
        while h > 1:
            h //= 2
            for j in range(h):
                buf[j] = buf[j] + buf[j + h]
        out[r] = buf[0]


def doh_rows(seed: int, layer: int, row0: int, n_rows: int, latent: int, bound: float, z: np.ndarray) -> np.ndarray:
    """Rows ``row0 .. row0+n_rows`` of ``B_layer z`` (float64): ``tree_dot(b_rows(...), z)``, bit for bit."""
    out = np.empty(n_rows, dtype=np.float64)
    key = np.uint64(rng._key(seed, layer))
    with np.errstate(over="ignore"):
        first = np.uint64(row0) * np.uint64(latent)
    _rows_kernel(key, first, n_rows, latent, float(bound), np.ascontiguousarray(z, dtype=np.float64), out)
    return out


@njit(nogil=True, cache=True)
def _entries_kernel(key: np.uint64, first_index: np.uint64, bound: float,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled; checked against the reference
    """out[i] = float32(entry ``first_index + i`` of the stream keyed ``key``, scaled to U(-bound, bound))."""
    for i in range(out.shape[0]):
        x = key + (first_index + np.uint64(i) + _ONE) * _GOLDEN
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        x = x ^ (x >> _S31)
        out[i] = np.float32((np.float64(x >> _S11) * _SCALE * 2.0 - 1.0) * bound)


def b_float32(seed: int, layer: int, count: int, bound: float) -> np.ndarray:
    """The first ``count`` entries of ``B_layer`` as float32: ``rng.symmetric_uniform(...).astype(float32)``, bit
    for bit, in one pass (a fit holds ``B`` in float32; the torch generation takes 0.67 s for a 28x9 network, this
    0.11 s: ``benchmarks/sincos_kernels.py``)."""
    out = np.empty(count, dtype=np.float32)
    _entries_kernel(np.uint64(rng._key(seed, layer)), np.uint64(0), float(bound), out)
    return out
