"""Fast fitting: how the shared trainer evaluates the network and updates the weights.

An *engine* is a named recipe (registry ``ENGINES``) picked by ``FitConfig.engine``:

- ``reference``: ``networks.forward`` under autograd and ``torch.optim.Adam`` (the plain loop);
- ``fast``: the fused SIREN stack (``siren.py``) with the library's sin/cos and fused Adam;
- ``compiled``: ``fast`` with sin/cos from one inductor-compiled polynomial kernel (``kernels.py``);
- ``auto``: ``compiled`` when the fit is long enough to repay the compile (and a compiler works),
  else ``fast``.

All give the same function and the same optimiser maths; docs/fitting-speed.md has the numbers.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch

from ..errors import InrzipError
from ..networks import NetworkSpec
from .kernels import SINCOS, compile_report, get_sincos, poly_sincos
from .siren import PRECISIONS, Forward, SineStack, make_forward

__all__ = ["Engine", "ENGINES", "register_engine", "resolve_engine", "make_adam", "set_threads", "using_threads",
           "auto_threads", "make_forward", "SineStack", "get_sincos", "poly_sincos", "SINCOS", "compile_report",
           "AUTO_COMPILE_SAMPLES", "PRECISIONS"]

# 'auto' compiles when epochs x samples reaches this: about 130 epochs of a 768x512 image, where the
# compile (5-35 s on 2 busy cores, cached on disk afterwards) is a small part of the fit.
AUTO_COMPILE_SAMPLES = 50_000_000


@dataclass(frozen=True)
class Engine:
    """What a fit uses: the sin/cos kernel of the fused stack (None: generic autograd forward)
    and whether Adam runs as one fused kernel."""

    name: str
    kernel: str | None
    fused_adam: bool

    def forward(self, spec: NetworkSpec, device: torch.device | str, precision: str = "fp32") -> Forward:
        return make_forward(spec, self.kernel, device, precision)


ENGINES: dict[str, Engine] = {}


def register_engine(engine: Engine) -> Engine:
    ENGINES[engine.name] = engine
    return engine


register_engine(Engine("reference", kernel=None, fused_adam=False))
register_engine(Engine("fast", kernel="eager", fused_adam=True))
register_engine(Engine("compiled", kernel="poly", fused_adam=True))


def resolve_engine(name: str, work_samples: int = 0) -> Engine:
    """The engine for ``name``; ``auto`` looks at the fit's size (epochs x samples per epoch)."""
    if name == "auto":
        return ENGINES["compiled" if work_samples >= AUTO_COMPILE_SAMPLES else "fast"]
    try:
        return ENGINES[name]
    except KeyError:
        raise InrzipError(f"unknown engine {name!r}; choose from {sorted(ENGINES) + ['auto']}") from None


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


def auto_threads() -> int:
    """Threads for a fit: torch's current setting, or 1 when the machine is already oversubscribed.

    With more runnable processes than cores (1-minute load average >= cores), each multi-threaded op
    waits for its slowest, descheduled thread: a 28x9 epoch took 5.4x longer with 2 threads than
    with 1 at load 3.4 on 2 cores (docs/fitting-speed.md). On an idle machine this keeps torch's."""
    current = torch.get_num_threads()
    try:
        load, cores = os.getloadavg()[0], len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return current
    return 1 if load >= cores else current


def set_threads(threads: int | None) -> Callable[[], None]:
    """Set torch's intra-op threads for a fit (None: ``auto_threads()``); returns a function restoring
    the previous value."""
    if threads is not None and threads < 1:
        raise InrzipError("threads must be at least 1")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads if threads is not None else auto_threads())
    return lambda: torch.set_num_threads(previous)


@contextlib.contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    """``set_threads`` for a block: the previous count comes back even on an error or Ctrl-C."""
    restore = set_threads(threads)
    try:
        yield
    finally:
        restore()
