"""Ctrl-C that always stops a fit. Python raises KeyboardInterrupt wherever the main thread happens to be when
the signal's handler runs; where that is a ``__del__``, a weakref callback or a library's catch-all (the
compiler's tracing, a callback from C), the exception is swallowed and a million-epoch fit runs on. The
program's handler therefore also records the request, and the trainer checks the record between steps."""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Iterator

__all__ = ["requested", "raise_if_requested", "ctrl_c_stops"]

_requested = False


def requested() -> bool:
    """Whether Ctrl-C came while ``ctrl_c_stops`` was in force."""
    return _requested


def raise_if_requested() -> None:
    """Raise KeyboardInterrupt if Ctrl-C came and its first KeyboardInterrupt was swallowed somewhere."""
    if _requested:
        raise KeyboardInterrupt


def _handler(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def ctrl_c_stops() -> Iterator[None]:
    """For a block of the main thread: SIGINT raises KeyboardInterrupt as usual and is also recorded. Off the
    main thread, or where SIGINT is ignored (a background job), nothing changes."""
    global _requested
    usable = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGINT, _handler) if usable else None
    _requested = False
    try:
        yield
    finally:
        _requested = False
        if usable:
            signal.signal(signal.SIGINT, previous)
