"""sin and cos of one float32 array in one pass, compiled ahead of the fit by Numba (the ``numba`` kernel).

Why: ``poly`` (``kernels.py``) computes the same polynomials through inductor, whose compile costs 4.7 s per process
even from its disk cache, so it only pays in fits of a minute or more. Numba loads this kernel from its disk cache
in 0.7 s, and its loop is faster than inductor's (133 against 168 us for a 28-wide layer's 229k pre-activations on
one core, the library's 777 us; ``benchmarks/sincos_kernels.py``): so every CPU fit can use it, the short ones too.

The arithmetic is ``poly_sincos``'s: Cody-Waite reduction by pi/2 in three parts, Cephes' sinf/cosf polynomials
on [-pi/4, pi/4], the quadrant from the reduction's integer. It is compiled without fast-math, so the reduction is
not reassociated (Cody-Waite's three-part subtraction depends on its order) and NaN and inf give NaN as the
library's do.
The function releases the GIL, so ``sincos`` splits a large array over threads when torch is given several.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

__all__ = ["sincos", "PARALLEL_FROM"]

PARALLEL_FROM = 1 << 19  # below this many elements a thread hand-off costs more than it saves (measured)


@njit(nogil=True, cache=True, boundscheck=False)
def _kernel(z: np.ndarray, s: np.ndarray, c: np.ndarray) -> None:  # pragma: no cover - compiled; tested by value
    """s = sin(z), c = cos(z) elementwise; three distinct arrays (see ``sincos``)."""
    for i in range(z.shape[0]):
        x = z[i]
        k = np.float32(np.floor(x * np.float32(0.6366197723675814) + np.float32(0.5)))
        r = x - k * np.float32(1.5703125)
        r = r - k * np.float32(4.837512969970703125e-4)
        r = r - k * np.float32(7.54978995489188216e-8)
        r2 = r * r
        sv = r + r * r2 * (np.float32(-1.6666654611e-1) + r2 * (np.float32(8.3321608736e-3)
                                                                 + r2 * np.float32(-1.9515295891e-4)))
        cv = (np.float32(1.0) - np.float32(0.5) * r2
              + r2 * r2 * (np.float32(4.166664568298827e-2) + r2 * (np.float32(-1.388731625493765e-3)
                                                                     + r2 * np.float32(2.443315711809948e-5))))
        q = np.int32(min(max(k, np.float32(-1e9)), np.float32(1e9))) & 3  # clamped: no overflow on absurd z
        if q & 1:
            sv, cv = cv, sv
        if q >= 2:
            sv = -sv
        if q == 1 or q == 2:
            cv = -cv
        s[i] = sv
        c[i] = cv


@functools.lru_cache(maxsize=None)
def _pool(workers: int) -> ThreadPoolExecutor:
    """One lasting pool per thread count: a pool made per call would cost more than the kernel saves."""
    return ThreadPoolExecutor(workers, thread_name_prefix="inrzip-sincos")


def sincos(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin z, cos z) of a contiguous float32 CPU tensor, in two new tensors. (Writing cos into ``z``, as the eager
    kernel does, made the loop 23x slower (``benchmarks/sincos_kernels.py``): LLVM cannot vectorize a loop whose input and output may overlap, and the
    scalar loop's quadrant branches mispredict on every other element.)"""
    flat = z.view(-1).numpy()
    s, c = torch.empty_like(z), torch.empty_like(z)
    s_out, c_out = s.view(-1).numpy(), c.view(-1).numpy()
    n, threads = flat.shape[0], torch.get_num_threads()
    if threads > 1 and n >= PARALLEL_FROM:
        cuts = [n * k // threads for k in range(threads + 1)]
        part = lambda k: _kernel(flat[cuts[k]:cuts[k + 1]], s_out[cuts[k]:cuts[k + 1]],  # noqa: E731
                                 c_out[cuts[k]:cuts[k + 1]])
        others = [_pool(threads - 1).submit(part, k) for k in range(1, threads)]
        part(0)  # this thread takes the first part: one hand-off fewer
        for f in others:
            f.result()
    else:
        _kernel(flat, s_out, c_out)
    return s, c
