"""Elementwise kernels of the fast SIREN step: sin and cos of one pre-activation, computed together.

A sine layer's forward needs ``sin(z)`` and its backward ``cos(z)``. On CPU the library's vectorised
``torch.sin`` costs about as much as the layer's 28-wide matmul (docs/fitting-speed.md), so computing both
from one range reduction in one fused loop is the largest single saving. Three implementations:

- ``eager``: ``torch.sin`` / ``torch.cos`` (SLEEF, 1 ulp), always available.
- ``poly``: Cody-Waite reduction to [-pi/4, pi/4] and the Cephes sinf/cosf polynomials (absolute
  error ~1e-7 for |z| < 200, < 2e-6 up to |z| = 1000; tests/test_fast_fit.py), written in torch ops
  and fused into one C++ loop by ``torch.compile`` (inductor); 2.7x faster than eager sin + cos on
  229k elements. Falls back to ``eager`` when compiling is unavailable or fails.
- ``numba``: the same polynomials in one Numba loop (``numba_sincos.py``), faster than ``poly`` and loaded in
  0.7 s instead of inductor's 4.7 s (both from their disk caches), so short fits can use it too; CPU float32 only.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import torch

from ...registry import Registry

__all__ = ["SinCos", "SINCOS", "get_sincos", "poly_sincos", "eager_sincos", "compile_report",
           "MIN_COMPILED_ELEMENTS"]

SinCos = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
log = logging.getLogger(__name__)


def eager_sincos(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Library sin and cos; cos is written into ``z`` (the caller hands over the buffer)."""
    return torch.sin(z), z.cos_()


def poly_sincos(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sin and cos from one quadrant reduction; plain torch ops so inductor can fuse them in one loop.

    Constants are literals on purpose: dynamo turns module-level floats into per-call tensor inputs
    under ``dynamic=True``, which tripled the call overhead. pi/2 is split in three parts (the first
    two exact in float32); the polynomials are Cephes' sinf/cosf on [-pi/4, pi/4]."""
    k = torch.round(z * 0.6366197723675814)
    r = z - k * 1.5703125
    r = r - k * 4.837512969970703125e-4
    r = r - k * 7.54978995489188216e-8
    r2 = r * r
    s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4))
    c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5))
    q = k.to(torch.int32) & 3
    odd = (q & 1) == 1
    sin = torch.where(odd, c, s)
    cos = torch.where(odd, s, c)
    sin = torch.where(q >= 2, -sin, sin)
    cos = torch.where((q == 1) | (q == 2), -cos, cos)
    return sin, cos


# A compiled call costs ~50 us of Python/guard overhead (measured); below this many elements
# the library kernels are faster, so small calls (small batches, NeRF samples) stay eager.
MIN_COMPILED_ELEMENTS = 1 << 14

SINCOS: Registry[Callable[[], SinCos]] = Registry("sin/cos kernel")
_built: dict[tuple[str, str], SinCos] = {}
compile_report: dict[str, float | str] = {}  # what the last compile cost / why it fell back


@SINCOS.register("eager")
def _eager() -> SinCos:
    return eager_sincos


@SINCOS.register("poly")
def _compiled_poly() -> SinCos:
    """``poly_sincos`` compiled once for any length (inputs are flattened, so one kernel serves all shapes)."""
    compiled: list[Callable] = [torch.compile(poly_sincos, dynamic=True, fullgraph=True)]

    def run(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if z.numel() < MIN_COMPILED_ELEMENTS or not compiled:
            return eager_sincos(z)
        try:
            s, c = compiled[0](z.reshape(-1))
        except Exception as exc:  # noqa: BLE001 - a recompile (new dtype/device) failed: stay on the library
            log.warning("inrzip: compiled sin/cos failed (%s); using torch.sin/cos from now on", exc)
            compiled.clear()
            return eager_sincos(z)
        return s.view(z.shape), c.view(z.shape)
    return run


@SINCOS.register("numba")
def _numba() -> SinCos:
    """``numba_sincos.sincos`` (``poly``'s polynomials, loaded from Numba's disk cache in under a second) for
    contiguous float32 CPU tensors; anything else (a GPU tensor, bf16) goes to the library."""
    from .numba_sincos import sincos

    def run(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if z.device.type != "cpu" or z.dtype != torch.float32 or not z.is_contiguous():
            return eager_sincos(z)
        return sincos(z)
    return run


def get_sincos(name: str, device: torch.device | str = "cpu") -> SinCos:
    """The kernel ``name`` for ``device``, compiled and checked once per process; ``eager`` if that fails."""
    key = (name, torch.device(device).type)
    if key in _built:
        return _built[key]
    factory = SINCOS.get(name)
    _built[key] = factory() if name == "eager" else _checked(name, factory, torch.device(device))
    return _built[key]


def _checked(name: str, factory: Callable[[], SinCos], device: torch.device) -> SinCos:
    """Build the kernel and run it once on a probe (this is when inductor compiles), compared with the
    library; any failure (no compiler, unsupported platform, wrong results) gives the library kernel."""
    probe = torch.linspace(-200.0, 200.0, MIN_COMPILED_ELEMENTS + 3, device=device)
    t0 = time.perf_counter()
    try:
        kernel = factory()
        s, c = kernel(probe.clone())  # a kernel may write cos into its input (the eager contract)
        ok = float((s - torch.sin(probe)).abs().max()) < 1e-5 and float((c - torch.cos(probe)).abs().max()) < 1e-5
        if not ok:
            raise RuntimeError("results differ from torch.sin/cos")
    except Exception as exc:  # noqa: BLE001 - any compiler/toolchain failure means "use the library kernel"
        compile_report.update({"kernel": "eager", "fallback_reason": f"{name}: {type(exc).__name__}: {exc}"[:300]})
        log.warning("inrzip: %s sin/cos kernel unavailable (%s); using torch.sin/cos", name, exc)
        return eager_sincos
    compile_report.update({"kernel": name, "compile_seconds": time.perf_counter() - t0})
    return kernel
