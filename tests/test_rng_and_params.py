"""D'OH's generator and init: portable, chunkable, and matching the supplement's variances."""

import math

import numpy as np
import pytest
import torch

from inrzip.nets import rng
from inrzip.nets.networks import NetworkSpec, init_bounds, layer_shapes, param_count, weight_count
from inrzip.nets.parameterizations import DOH, MLP, doh_b_bounds, latent_size, materialize


def test_generator_golden_values():
    # The stream is part of the file format: these values must never change.
    assert rng.uniform(0, 0, 0, 4).tolist() == [0.7497482413580301, 0.37239342287916577, 0.4382839062845528,
                                                 0.9541167159066205]
    assert rng.uniform(12345, 3, 1000, 3).tolist() == [0.06991212880384412, 0.1172339192850872, 0.06021461762164426]


def test_generator_chunks_equal_whole_and_streams_differ():
    whole = rng.uniform(7, 2, 0, 1000)
    parts = np.concatenate([rng.uniform(7, 2, s, 100) for s in range(0, 1000, 100)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, rng.uniform(7, 3, 0, 1000))
    assert 0.0 <= whole.min() and whole.max() < 1.0 and abs(whole.mean() - 0.5) < 0.03


@pytest.mark.parametrize("seed,stream,start", [(0, 0, 0), (12345, 3, 1000), (2 ** 63 + 5, 17, 10 ** 9), (-3, 0, 7)])
def test_torch_generator_is_the_numpy_one_bit_for_bit(seed, stream, start):
    assert np.array_equal(rng.uniform_torch(seed, stream, start, 5000).numpy(), rng.uniform(seed, stream, start, 5000))
    assert np.array_equal(rng.symmetric_uniform_torch(seed, stream, (50, 100), 0.3, start).numpy(),
                          rng.symmetric_uniform(seed, stream, (50, 100), 0.3, start))


def test_tree_dot_is_a_fixed_order_sum():
    from inrzip.nets.parameterizations import tree_dot

    rs = np.random.default_rng(0)
    for n in (1, 2, 3, 1000, 1024, 1025, 4990):
        rows, z = rs.standard_normal((40, n)), rs.standard_normal(n)
        out = tree_dot(rows, z)
        np.testing.assert_allclose(out, rows @ z, rtol=1e-10, atol=1e-10)
        # the order is fixed: row by row or together, the same bits; it is the zero-padded pairwise tree
        assert np.array_equal(np.stack([tree_dot(r[None], z)[0] for r in rows]), out)
        padded = np.zeros((40, 1 << max(0, (n - 1).bit_length())))
        padded[:, :n] = rows * z
        while padded.shape[1] > 1:
            padded = padded[:, :padded.shape[1] // 2] + padded[:, padded.shape[1] // 2:]
        assert np.array_equal(padded[:, 0], out)


def test_param_counts_match_paper():
    # D'OH Table 2: MLP(9,40) occupancy = 14961, with PE 17361; MLP(4,20) = 1781.
    assert param_count(NetworkSpec(3, 1, 40, 9)) == 14961
    assert param_count(NetworkSpec(3, 1, 40, 9, pe_freqs=10)) == 17361
    assert param_count(NetworkSpec(3, 1, 20, 4)) == 1781
    # latent ratios 0.25 / 0.5 of the PE target give the paper's DOH 30% / 60% totals (biases 401 stored)
    spec = NetworkSpec(3, 1, 40, 9, pe_freqs=10)
    assert latent_size(spec, 0.25) + 401 == 4641
    assert latent_size(spec, 0.5) + 401 == 8881


def test_doh_init_matches_target_variances():
    spec = NetworkSpec(2, 3, 64, 3, pe_freqs=10)
    param = DOH(spec, seed=3, latent_dim=2000)
    targets = init_bounds(spec, "doh")
    for (w, _), bound in zip(param.layers(), targets):
        expected = bound / math.sqrt(3.0)  # std of U(-b, b)
        assert float(w.detach().std()) == pytest.approx(expected, rel=0.1)
    # supplement eqs. 13 and 16
    n, fan_in, h = 2000, spec.encoded_features, 64
    a = doh_b_bounds(spec, n)
    assert a[0] == pytest.approx(math.sqrt(3 * n) / fan_in)
    assert a[1] == pytest.approx(math.sqrt(3 * n / (30.0 ** 2 * h)))


def test_doh_decoder_regenerates_training_weights():
    spec = NetworkSpec(2, 3, 16, 2, pe_freqs=4)
    param = DOH(spec, seed=11, latent_ratio=0.5)
    stored = {k: v.detach().numpy() for k, v in param.stored().items()}
    decoded = materialize("doh", spec, param.header(), stored)
    for (w1, b1), (w2, b2) in zip(param.layers(), decoded):
        assert torch.allclose(w1.detach(), w2, atol=1e-6)
        assert torch.equal(b1.detach(), b2)
    assert len(stored) == 1 + len(layer_shapes(spec))
    assert stored["z"].size == round(0.5 * weight_count(spec))


def test_mlp_siren_init_bounds():
    spec = NetworkSpec(2, 3, 32, 2)
    param = MLP(spec, seed=0)
    w0, w1 = param.weights[0], param.weights[1]
    assert float(w0.detach().abs().max()) <= 1 / 2 + 1e-7
    assert float(w1.detach().abs().max()) <= math.sqrt(6 / 32) / 30 + 1e-7
