"""The compiled D'OH product equals the NumPy reference bit for bit: the weights are part of the format."""

import numpy as np
import pytest

from inrzip.nets import rng
from inrzip.nets.fused_bz import doh_rows
from inrzip.nets.parameterizations import doh_weights, tree_dot


def _reference(seed: int, layer: int, row0: int, n_rows: int, latent: int, bound: float, z: np.ndarray):
    with np.errstate(all="ignore"):
        return tree_dot(rng.symmetric_uniform(seed, layer, (n_rows, latent), bound, start=row0 * latent), z)


@pytest.mark.parametrize("latent", [1, 2, 3, 4, 5, 8, 9, 100, 1023, 1024, 1025, 4519])
@pytest.mark.parametrize("seed,layer,row0", [(0, 0, 0), (12345, 3, 17), (2 ** 63 + 5, 8, 1000), (-3, 1, 7)])
def test_fused_rows_are_the_reference_bit_for_bit(latent, seed, layer, row0):
    rs = np.random.default_rng(latent + layer)
    z = rs.standard_normal(latent) / latent
    z[rs.integers(0, latent)] = -0.0  # signed zeros survive the padding exactly as in the reference
    bound = float(rs.uniform(0.01, 5.0))
    got = doh_rows(seed, layer, row0, 9, latent, bound, z)
    assert got.dtype == np.float64 and got.tobytes() == _reference(seed, layer, row0, 9, latent, bound, z).tobytes()


def test_fused_rows_overflow_like_the_reference():
    # a hostile latent: products overflow to inf and inf - inf is NaN; the caller refuses such weights, but both
    # paths must agree on what they are
    z = np.array([1e308, -1e308, 3.0, np.inf, 1e300])
    got = doh_rows(1, 0, 0, 6, 5, 4.0, z)
    ref = _reference(1, 0, 0, 6, 5, 4.0, z)
    assert not np.isfinite(got).all() and got.tobytes() == ref.tobytes()


@pytest.mark.parametrize("workers", [1, 3])
def test_doh_weights_fused_equals_reference(workers):
    rs = np.random.default_rng(1)
    z = rs.uniform(-1 / 300, 1 / 300, 300)
    fused = doh_weights(9, 2, 1000, 300, 0.7, z, workers=workers)
    assert fused.dtype == np.float32 and fused.shape == (1000,)
    assert fused.tobytes() == doh_weights(9, 2, 1000, 300, 0.7, z, workers=1, fused=False).tobytes()


def test_a_process_loads_the_kernel_once_its_products_repay_it(monkeypatch):
    import sys

    from inrzip.nets import parameterizations

    monkeypatch.delitem(sys.modules, "inrzip.nets.fused_bz")
    monkeypatch.setattr(parameterizations, "_reference_work", [0])
    half = parameterizations.FUSED_AFTER_WORK // 2 + 1
    assert not parameterizations.use_fused(half)  # a one-off small decode keeps the reference
    assert parameterizations.use_fused(half)  # together they repay the kernel's load


@pytest.mark.parametrize("name", ["kodim23_doh_28x9_minmax8", "occupancy_doh_minmax8", "image_doh_siren_minmax8"])
@pytest.mark.parametrize("fused", [False, True])
def test_golden_doh_files_decode_to_their_bits_on_either_product(monkeypatch, name, fused):
    import json
    from pathlib import Path

    from golden_hash import decoded_sha256, layers_sha256

    from inrzip.nets import parameterizations

    golden = Path(__file__).resolve().parent / "golden" / "v1"
    entry = json.loads((golden / "manifest.json").read_text())[name]
    monkeypatch.setattr(parameterizations, "use_fused", lambda work: fused)
    data = (golden / entry["file"]).read_bytes()
    assert layers_sha256(data) == entry["layers_sha256"]
    assert decoded_sha256(data) == entry["decoded_sha256"]
