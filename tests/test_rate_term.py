"""Entropy-aware training (``--rate-lambda``): the rate estimate follows the coded size, and training with it
makes the stored values cheaper to code (docs/rate.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inrzip.api import CompressConfig, FitConfig, encode, load
from inrzip.bitstream.entropy import encode_codes
from inrzip.errors import InrzipError
from inrzip.fit.rate import estimated_bits, tensor_bits
from inrzip.quant import Distributional


def _coded_bits(x: torch.Tensor, bits: int) -> int:
    q = Distributional().quantize(x.numpy(), bits)
    return 32 * encode_codes(q.codes, bits).words.size


def test_estimate_is_scale_free_and_prefers_peaked_tensors():
    g = torch.Generator().manual_seed(0)
    normal = torch.randn(4000, generator=g)
    assert float(tensor_bits(normal * 0.01, 8)) == pytest.approx(float(tensor_bits(normal, 8)), rel=1e-5)
    laplace = torch.distributions.Laplace(0.0, 1.0).sample((4000,))
    uniform = torch.rand(4000, generator=g) - 0.5
    assert float(tensor_bits(laplace, 8)) < float(tensor_bits(normal, 8)) < float(tensor_bits(uniform, 8))
    assert float(tensor_bits(torch.ones(1), 8)) == 0.0


@pytest.mark.parametrize("bits", [6, 8])
def test_estimate_tracks_the_range_coded_size(bits):
    """For Gaussian and Laplace tensors on the distributional levels the estimate is within 6% of the coder's."""
    torch.manual_seed(1)
    for x in (torch.randn(6000), torch.distributions.Laplace(0.0, 1.0).sample((6000,))):
        assert float(tensor_bits(x, bits)) == pytest.approx(_coded_bits(x, bits), rel=0.06)


def test_estimate_has_a_gradient_that_sparsifies():
    """Small deviations are pulled to the mean, large ones pushed out; the estimate sums over tensors."""
    x = torch.tensor([-4.0, -0.1, 0.0, 0.1, 4.0], requires_grad=True)
    estimated_bits([x, torch.zeros(3)], 8).backward()
    grad = x.grad.numpy()
    assert grad[1] < 0 < grad[3]  # gradient descent moves -0.1 up and 0.1 down: towards the mean
    assert grad[0] > 0 > grad[4]  # and -4 further down, 4 further up
    flat = torch.ones(4, requires_grad=True)  # a constant tensor (std 0) must not poison the step with NaN
    estimated_bits([flat], 8).backward()
    assert torch.isfinite(flat.grad).all()


def test_training_with_a_rate_term_writes_a_smaller_file(data_dir):
    """Same image, seed and epochs at 8 bits: a rate term makes the coded file smaller (not the raw size)."""
    image = load(data_dir / "kodim23_64.png")

    def run(lam: float):
        cfg = CompressConfig(parameterization="mlp", pe=True, arch="16x3", bits=8, quantizer="distributional",
                             residual=False, fit=FitConfig(epochs=60, progress=False, seed=3, rate_lambda=lam))
        return encode(image, cfg)

    plain, rated = run(0.0), run(2.0)
    assert plain.sizes.stored_values == rated.sizes.stored_values
    assert rated.sizes.code_bytes < 0.97 * plain.sizes.code_bytes, (rated.sizes.code_bytes, plain.sizes.code_bytes)
    assert rated.report["psnr"] > 20.0  # still a fitted image, not collapsed


@pytest.mark.parametrize("lam", [-1.0, float("nan"), float("inf")])
def test_invalid_rate_lambda_is_refused(data_dir, lam):
    image = load(data_dir / "kodim23_64.png")
    with pytest.raises(InrzipError, match="rate-lambda"):
        encode(image, CompressConfig(fit=FitConfig(epochs=1, progress=False, rate_lambda=lam)))


def test_rate_term_is_off_by_default():
    from inrzip.fit.defaults import FIT_DEFAULTS
    assert FIT_DEFAULTS["rate_lambda"] == 0.0
    assert np.isfinite(float(estimated_bits([torch.randn(10)], 8)))
