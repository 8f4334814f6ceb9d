"""Process-level settings the package applies itself, so users need not know them: the allocator, the
device, and torch's thread count during a fit."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from typing import Callable

import torch

from ..errors import InrzipError
from ..signals.base import torch_threads

__all__ = ["tune_allocator", "resolve_device", "auto_threads", "set_threads", "using_threads"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tune_allocator() -> bool:
    """Stop glibc from returning large training buffers to the OS after every step.

    Each step frees and reallocates the same multi-MB activations; with glibc's defaults they are
    mmap'ed and unmapped every time (page faults + zeroing), which costs up to 2.5x on CPU.
    Raising the mmap and trim thresholds keeps them in the heap. No-op off glibc.
    """
    global _done
    if _done or os.environ.get("INRZIP_NO_MALLOPT"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
        _done = bool(ok)
    except (OSError, AttributeError):
        _done = False
    return _done


def resolve_device(name: str | None) -> torch.device:
    """'auto' picks CUDA when present; an unavailable device is a clear error, not a crash."""
    name = name or "cpu"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InrzipError(f"unknown device {name!r}; use cpu, cuda or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InrzipError("--device cuda requested but no CUDA GPU is available; use --device cpu")
    return dev


def auto_threads() -> int:
    """Threads for a fit: torch's current setting, or 1 when the machine is already oversubscribed.

    With more runnable processes than cores (1-minute load average >= cores), each multi-threaded op
    waits for its slowest, descheduled thread: a 28x9 epoch took 5.4x longer with 2 threads than
    with 1 at load 3.4 on 2 cores (docs/fitting-speed.md). On an idle machine this keeps torch's."""
    current = torch.get_num_threads()
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return current
    return 1 if load >= _cores() else current


def _cores() -> int:
    """The cores this process may run on (its affinity; the machine's count where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return os.cpu_count() or 1


# Threads a fit may ask for per core: more only queue behind each other, and OpenMP allocates per thread, so a
# mistyped --threads 100000 ended the process in libgomp's "out of memory" abort rather than an error
THREADS_PER_CORE = 4


def _fit_threads(threads: int | None) -> int:
    """A fit's thread count: the user's (1 .. ``THREADS_PER_CORE`` per core), else ``auto_threads()``."""
    if threads is None:
        return auto_threads()
    if threads < 1:
        raise InrzipError("threads must be at least 1")
    cores = _cores()
    if threads > THREADS_PER_CORE * cores:
        raise InrzipError(f"--threads {threads} is more than {THREADS_PER_CORE} per core of this machine's {cores}; "
                          f"give 1 to {THREADS_PER_CORE * cores}")
    return threads


def set_threads(threads: int | None) -> Callable[[], None]:
    """Set torch's intra-op threads for a fit (None: ``auto_threads()``); returns a function restoring
    the previous value."""
    count = _fit_threads(threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    return lambda: torch.set_num_threads(previous)


def using_threads(threads: int | None) -> contextlib.AbstractContextManager[None]:
    """``set_threads`` for a block (``signals.torch_threads``): the previous count comes back even on an error
    or Ctrl-C."""
    return torch_threads(_fit_threads(threads))
