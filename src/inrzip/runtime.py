"""Process-level performance settings the package applies itself, so users need not know them."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["tune_allocator", "resolve_device"]

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


def resolve_device(name: str | None) -> "torch.device":
    """'auto' picks CUDA when present; an unavailable device is a clear error, not a crash."""
    import torch

    from .errors import InrzipError

    name = name or "cpu"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InrzipError("--device cuda requested but no CUDA GPU is available; use --device cpu")
    return dev
