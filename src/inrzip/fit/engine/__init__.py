"""Fast fitting: how the shared trainer evaluates the network and updates the weights.

An *engine* is a named recipe (registry ``ENGINES``) picked by ``FitConfig.engine``:

- ``reference``: ``networks.forward`` under autograd and ``torch.optim.Adam`` (the plain loop);
- ``fast``: the fused SIREN stack (``siren.py``) with the library's sin/cos and fused Adam;
- ``compiled``: ``fast`` with sin/cos from one inductor-compiled polynomial kernel (``kernels.py``);
- ``numba``: ``fast`` with the same polynomials compiled by Numba (``numba_sincos.py``; CPU float32);
- ``auto``: ``numba`` on the CPU; elsewhere ``compiled`` when the fit is long enough to repay the compile
  (and a compiler works), else ``fast``.

All give the same function and the same optimiser maths; docs/fitting-speed.md has the numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from ...nets.networks import NetworkSpec, encode_inputs
from ...registry import Registry
from .kernels import SINCOS, compile_report, get_sincos, poly_sincos
from .siren import PRECISIONS, Forward, SineStack, make_forward

__all__ = ["Engine", "ENGINES", "resolve_engine", "make_adam", "make_forward", "SineStack", "get_sincos",
           "poly_sincos", "SINCOS", "compile_report", "AUTO_COMPILE_SAMPLES", "PRECISIONS"]

# 'auto' compiles when epochs x samples reaches this: about 130 epochs of a 768x512 image, where the
# compile (5-35 s on 2 busy cores, cached on disk afterwards) is a small part of the fit.
AUTO_COMPILE_SAMPLES = 50_000_000
# A fit the clock ends (no epoch count) compiles when it is given at least this long: the compile's 5-35 s
# are then a small part of it.
AUTO_COMPILE_SECONDS = 60.0


@dataclass(frozen=True)
class Engine:
    """What a fit uses: the sin/cos kernel of the fused stack (None: generic autograd forward)
    and whether Adam runs as one fused kernel."""

    name: str
    kernel: str | None
    fused_adam: bool

    def forward(self, spec: NetworkSpec, device: torch.device | str, precision: str = "fp32",
                encoded: bool = False) -> Forward:
        return make_forward(spec, self.kernel, device, precision, encoded)

    def encoder(self, spec: NetworkSpec) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The input encoding the trainer may apply to a signal's inputs ahead of the forward (then built with
        ``encoded=True``): a fused sine stack's positional encoding; None where there is none, or where the
        forward encodes its inputs itself (the reference loop, other activations)."""
        if self.kernel is None or spec.activation != "sine" or spec.pe_freqs == 0:
            return None
        return functools.partial(encode_inputs, spec)


ENGINES: Registry[Engine] = Registry("engine")
for _engine in (Engine("reference", kernel=None, fused_adam=False), Engine("fast", kernel="eager", fused_adam=True),
                Engine("compiled", kernel="poly", fused_adam=True), Engine("numba", kernel="numba", fused_adam=True)):
    ENGINES[_engine.name] = _engine


def resolve_engine(name: str, work_samples: int = 0, budget_seconds: float | None = None,
                   device: torch.device | str = "cpu") -> Engine:
    """The engine for ``name``. ``auto`` is ``numba`` on the CPU (its kernel loads in under a second, so it pays in
    any fit); elsewhere it looks at the fit's size (epochs x samples per epoch), or at its time budget when the
    clock, not an epoch count, ends it (``budget_seconds``), to decide whether inductor's compile pays."""
    if name == "auto" and torch.device(device).type == "cpu":
        return ENGINES["numba"]
    if name == "auto":
        long = budget_seconds >= AUTO_COMPILE_SECONDS if budget_seconds is not None \
            else work_samples >= AUTO_COMPILE_SAMPLES
        return ENGINES["compiled" if long else "fast"]
    return ENGINES.get(name, " or auto")


def make_adam(params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float], fused: bool,
              **kwargs: object) -> torch.optim.Adam:
    """Adam, as one fused kernel when asked and supported (same update maths as the for-loop one)."""
    params = list(params)
    if fused:
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, **kwargs)
        except (RuntimeError, ValueError):
            pass  # device/dtype without a fused kernel
    return torch.optim.Adam(params, lr=lr, betas=betas, **kwargs)
