"""Ctrl-C stops a fit even where its KeyboardInterrupt lands in code that swallows it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from inrzip.config import FitConfig
from inrzip.fit import fit
from inrzip.interrupts import ctrl_c_stops, requested
from inrzip.nets.networks import NetworkSpec
from inrzip.nets.parameterizations import MLP
from inrzip.signals.image import ImageSignal

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def python_ctrl_c():
    """Python's own SIGINT handler for each test, the previous one back after: a background run (``make test &``)
    starts with SIGINT ignored, and these tests are about what Python does with it."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _ctrl_c_swallowed() -> None:
    """Ctrl-C arriving in code that catches everything (as a ``__del__`` or a compiler's tracing does)."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        pass


def test_a_swallowed_ctrl_c_still_stops_the_fit():
    sig = ImageSignal(np.ascontiguousarray(ImageSignal.load(DATA / "kodim23_64.png").pixels[:16, :16]))
    spec = NetworkSpec(2, 3, 8, 1)
    epochs: list[int] = []

    def hook(epoch: int, loss: float) -> None:
        epochs.append(epoch)
        if epoch == 3:
            _ctrl_c_swallowed()

    with ctrl_c_stops():
        with pytest.raises(KeyboardInterrupt):
            fit(sig, spec, MLP(spec, seed=0), FitConfig(epochs=1000, batch_size=64, progress=False), hook)
        assert requested()
    assert epochs == [1, 2, 3] and not requested()  # stopped at the first step after; the record is cleared


def test_the_guard_restores_the_previous_handler_and_leaves_an_ignored_ctrl_c_ignored():
    with ctrl_c_stops():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job: Ctrl-C is not for it
    with ctrl_c_stops():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
