"""An image's positional encoding computed once per fit (``Signal.encoded_batches``, the trainer's ``encode``).

The encoded batches must be exactly what encoding each batch gives (same rows, same order, same targets), whether
the table is kept, too large to keep, or bypassed by jittered epochs; and a fit must train on the same numbers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch

from inrzip.config import FitConfig
from inrzip.errors import InrzipError
from inrzip.fit import engine as engines
from inrzip.fit import fit
from inrzip.nets.networks import NetworkSpec, encode_inputs
from inrzip.nets.parameterizations import DOH, MLP
from inrzip.signals import image as image_mod
from inrzip.signals.image import ImageSignal

DATA = Path(__file__).resolve().parent / "data"
SPEC = NetworkSpec(2, 3, 16, 2, pe_freqs=6, pe_grid=(64, 64), pe_cap=0.5)


def _image(**kw) -> ImageSignal:
    return ImageSignal(ImageSignal.load(DATA / "kodim23_64.png").pixels, **kw)


def _epochs(signal: ImageSignal, encode, epochs: int = 3, size: int = 1000) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(5)
    cpu = torch.device("cpu")
    out = []
    for _ in range(epochs):
        it = signal.batches(size, gen, cpu) if encode is None else signal.encoded_batches(size, gen, cpu, encode)
        out += list(it)
    return out


@pytest.mark.parametrize("case", ["table", "too-large", "jittered", "one-batch"])
def test_encoded_batches_equal_encoding_each_batch(case, monkeypatch):
    if case == "too-large":
        monkeypatch.setattr(image_mod, "ENCODED_TABLE_BYTES", 1000)
    kw = {"jitter": 1.0, "jitter_share": 0.5, "jitter_epochs": (1, 2)} if case == "jittered" else {}
    size = 64 * 64 if case == "one-batch" else 1000
    encode = partial(encode_inputs, SPEC)
    plain, encoded = _epochs(_image(**kw), None, size=size), _epochs(_image(**kw), encode, size=size)
    assert len(plain) == len(encoded) == (3 if case == "one-batch" else 15)
    for (x, y), (h, t) in zip(plain, encoded):
        assert h.shape == (x.shape[0], SPEC.encoded_features)
        assert torch.equal(t, y)
        assert torch.allclose(h, encode(x), atol=1e-6, rtol=0)  # the vectorized sin's tail may differ by an ulp


def test_table_is_built_once_per_map_and_dropped_for_another(monkeypatch):
    signal, calls = _image(), []

    def counting(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return encode_inputs(SPEC, x)
    _epochs(signal, counting, epochs=4)
    assert calls == [1, 64 * 64]  # a row to size it, then the grid once; no per-batch encoding
    other = partial(encode_inputs, SPEC)
    _epochs(signal, other, epochs=1)
    assert signal._encoded is not None and signal._encoded[0] is other
    monkeypatch.setattr(image_mod, "ENCODED_TABLE_BYTES", 1000)
    calls.clear()
    _epochs(signal, counting, epochs=1)
    assert calls == [1] + [1000] * 4 + [96]  # too large now: the batches are encoded one by one
    assert signal._encoded is None


@pytest.mark.parametrize("name,engine", [("mlp", "numba"), ("doh", "numba"), ("mlp", "fast")])
def test_fit_on_the_table_trains_as_encoding_per_batch(name, engine, monkeypatch):
    """The same fit with the table and with per-batch encoding (the table forbidden): the same losses."""
    cfg = FitConfig(epochs=3, batch_size=1024, lr=1e-3, progress=False, engine=engine)
    make = (lambda: MLP(SPEC, seed=2)) if name == "mlp" else (lambda: DOH(SPEC, latent_dim=300, seed=2))
    kept = fit(_image(), SPEC, make(), cfg)
    monkeypatch.setattr(image_mod, "ENCODED_TABLE_BYTES", 0)
    per_batch = fit(_image(), SPEC, make(), cfg)
    for (e1, l1, _), (e2, l2, _) in zip(kept.history, per_batch.history):
        assert e1 == e2 and l1 == pytest.approx(l2, rel=1e-5, abs=1e-6)


def test_engines_encode_only_for_the_fused_sine_stack():
    assert engines.ENGINES["reference"].encoder(SPEC) is None  # the plain loop encodes in networks.forward
    assert engines.ENGINES["numba"].encoder(NetworkSpec(2, 3, 16, 2)) is None  # raw coordinates: nothing to do
    assert engines.ENGINES["fast"].encoder(NetworkSpec(2, 3, 16, 2, activation="relu", pe_freqs=4)) is None
    x = torch.rand(10, 2) * 2 - 1
    assert torch.equal(engines.ENGINES["numba"].encoder(SPEC)(x), encode_inputs(SPEC, x))
    with pytest.raises(InrzipError, match="encoded inputs"):
        engines.make_forward(NetworkSpec(2, 3, 16, 2, activation="relu", pe_freqs=4), "eager", encoded=True)
