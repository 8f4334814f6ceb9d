"""Fast fitting (issue 6): the fused SIREN stack, the sin/cos kernels, K models in one pass, compile fallback.

Every fast path must compute what the reference path computes: same outputs and gradients up to
float32 rounding, and the same loss trajectory over a few epochs of a real image.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from inrzip.config import FitConfig
from inrzip.errors import InrzipError
from inrzip.fit import engine as engines
from inrzip.fit import fit, fit_many, runtime
from inrzip.fit.engine import kernels, numba_sincos
from inrzip.fit.engine.siren import SineStack
from inrzip.nets.networks import NetworkSpec, forward, positional_encoding, stack_layers
from inrzip.nets.parameterizations import DOH, MLP
from inrzip.signals.image import ImageSignal

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def image() -> ImageSignal:
    return ImageSignal.load(DATA / "kodim23_64.png")


def _cfg(engine: str, **kw) -> FitConfig:
    return FitConfig(**{"epochs": 4, "batch_size": 1024, "lr": 1e-3, "progress": False, "engine": engine, **kw})


def _psnr(signal: ImageSignal, spec: NetworkSpec, param) -> float:
    layers = [(w.detach(), b.detach()) for w, b in param.layers()]
    return signal.evaluate(lambda x: forward(spec, layers, x))["psnr"]


def test_poly_sincos_matches_library_over_training_range():
    z = torch.cat([torch.linspace(-1000.0, 1000.0, 200_001), torch.randn(10_000) * 30])
    s, c = kernels.poly_sincos(z)
    exact = z.double()
    assert float((s.double() - exact.sin()).abs().max()) < 2e-6
    assert float((c.double() - exact.cos()).abs().max()) < 2e-6


@pytest.mark.parametrize("pe", [0, 4])
@pytest.mark.parametrize("sincos", [kernels.eager_sincos, kernels.poly_sincos, lambda z: kernels.get_sincos("numba")(z)],
                         ids=["eager", "poly", "numba"])
def test_sine_stack_equals_reference_forward_and_gradients(pe, sincos):
    spec = NetworkSpec(2, 3, 24, 3, pe_freqs=pe)
    param = MLP(spec, seed=4)
    x = torch.rand(777, 2) * 2 - 1
    ref = forward(spec, param.layers(), x)
    g_ref = torch.autograd.grad(ref.square().sum(), list(param.parameters()))
    flat = [t for layer in param.layers() for t in layer]
    out = SineStack.apply(sincos, spec.omega, None, positional_encoding(x, pe), *flat)
    g_out = torch.autograd.grad(out.square().sum(), list(param.parameters()))
    assert torch.allclose(out, ref, atol=1e-5)
    for a, b in zip(g_ref, g_out):
        assert float((a - b).abs().max()) <= 1e-4 * float(a.abs().max())


def test_sine_stack_input_gradient_matches():
    spec = NetworkSpec(2, 1, 16, 2)
    param = MLP(spec, seed=1)
    x1 = (torch.rand(100, 2) * 2 - 1).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    forward(spec, param.layers(), x1).sum().backward()
    engines.make_forward(spec, "eager")(param.layers(), x2).sum().backward()
    assert torch.allclose(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,make", [("mlp", lambda s: MLP(s, seed=2)),
                                       ("doh", lambda s: DOH(s, seed=2, latent_ratio=0.5))])
def test_fast_engine_follows_reference_loss_trajectory(image, name, make):
    spec = NetworkSpec(2, 3, 16, 2, pe_freqs=0 if name == "mlp" else 4)
    lr = 1e-3 if name == "mlp" else 1e-4
    runs = {}
    for eng in ("reference", "fast"):
        param = make(spec)
        runs[eng] = (fit(image, spec, param, _cfg(eng, lr=lr)), _psnr(image, spec, param))
    (ref, p_ref), (fast, p_fast) = runs["reference"], runs["fast"]
    losses_ref = np.array([h[1] for h in ref.history])
    losses_fast = np.array([h[1] for h in fast.history])
    assert losses_ref[-1] < losses_ref[0]  # it really trained
    np.testing.assert_allclose(losses_fast, losses_ref, rtol=1e-4)
    assert abs(p_fast - p_ref) < 0.05


def test_fit_many_equals_separate_fits_shared_image(image):
    spec = NetworkSpec(2, 3, 16, 2)
    cfgs = [_cfg("fast", lr=lr) for lr in (1e-3, 5e-4, 2e-3)]
    separate = []
    for k, c in enumerate(cfgs):
        p = MLP(spec, seed=k)
        separate.append((fit(image, spec, p, c), _psnr(image, spec, p)))
    params = [MLP(spec, seed=k) for k in range(3)]
    together = fit_many(image, spec, params, cfgs)
    for (one, psnr_one), many, p in zip(separate, together, params):
        np.testing.assert_allclose([h[1] for h in many.history], [h[1] for h in one.history], rtol=1e-4)
        assert abs(_psnr(image, spec, p) - psnr_one) < 0.05


def test_fit_many_equals_separate_fits_distinct_images_and_doh(image):
    flipped = ImageSignal(np.ascontiguousarray(image.pixels[::-1, ::-1]), image.depth)
    spec = NetworkSpec(2, 3, 12, 1, pe_freqs=3)
    cfg = _cfg("fast", lr=1e-4)
    separate = [fit(s, spec, DOH(spec, seed=5, latent_ratio=0.6), cfg) for s in (image, flipped)]
    together = fit_many([image, flipped], spec, [DOH(spec, seed=5, latent_ratio=0.6) for _ in range(2)], cfg)
    for one, many in zip(separate, together):
        np.testing.assert_allclose([h[1] for h in many.history], [h[1] for h in one.history], rtol=1e-4)
    assert together[0].history[-1][1] != together[1].history[-1][1]  # the two models saw different targets


def test_fit_many_reference_engine_and_relu_use_the_generic_forward_on_stacked_layers(image):
    spec = NetworkSpec(2, 3, 16, 2, activation="relu", pe_freqs=2)
    params = [MLP(spec, seed=k) for k in range(2)]
    x = torch.rand(50, 2) * 2 - 1
    out = forward(spec, stack_layers([p.layers() for p in params]), x)
    for k, p in enumerate(params):
        assert torch.allclose(out[k], forward(spec, p.layers(), x), atol=1e-6)
    sep = fit(image, spec, MLP(spec, seed=0), _cfg("reference", epochs=2))
    many = fit_many(image, spec, [MLP(spec, seed=0)], _cfg("reference", epochs=2))
    np.testing.assert_allclose([h[1] for h in many[0].history], [h[1] for h in sep.history], rtol=1e-5)


def test_fit_many_rejects_configs_that_cannot_share_batches(image):
    spec = NetworkSpec(2, 3, 8, 1)
    params = [MLP(spec, seed=k) for k in range(2)]
    with pytest.raises(InrzipError, match="batch_size"):
        fit_many(image, spec, params, [_cfg("fast"), _cfg("fast", batch_size=512)])
    with pytest.raises(InrzipError, match="optimizer"):
        fit_many(image, spec, params, [_cfg("fast"), _cfg("fast", optimizer="sgd")])
    small = ImageSignal(image.pixels[:32], image.depth)
    with pytest.raises(InrzipError, match="size"):
        fit_many([image, small], spec, params, _cfg("fast"))


def test_engine_registry_and_auto_choice():
    # off the CPU (where auto is numba: tests/test_fast_fit.py) auto weighs inductor's compile against the fit
    assert engines.resolve_engine("auto", 1000, device="cuda").name == "fast"
    assert engines.resolve_engine("auto", engines.AUTO_COMPILE_SAMPLES, device="cuda").name == "compiled"
    # a fit the clock ends is judged by its budget, not by its (open) epoch count
    assert engines.resolve_engine("auto", 10 ** 12, budget_seconds=10.0, device="cuda").name == "fast"
    assert engines.resolve_engine("auto", 0, budget_seconds=engines.AUTO_COMPILE_SECONDS, device="cuda").name == \
        "compiled"
    assert engines.resolve_engine("reference").kernel is None
    with pytest.raises(InrzipError, match="unknown engine"):
        engines.resolve_engine("turbo")
    with pytest.raises(InrzipError, match="unknown engine"):
        fit(ImageSignal(np.zeros((4, 4, 1), np.float32)), NetworkSpec(2, 1, 4, 0), MLP(NetworkSpec(2, 1, 4, 0)),
            _cfg("turbo"))


def test_threads_setting_is_restored():
    before = torch.get_num_threads()
    restore = runtime.set_threads(1)
    assert torch.get_num_threads() == 1
    restore()
    assert torch.get_num_threads() == before
    with pytest.raises(InrzipError):
        runtime.set_threads(0)


def test_thread_counts_past_four_per_core_are_refused_before_torch_sees_them(monkeypatch):
    """A mistyped --threads 100000 used to end in libgomp's out-of-memory abort; now it is one error naming the range."""
    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    with pytest.raises(InrzipError, match=rf"--threads 100000 is more than 4 per core of this machine's {cores}; "
                                          rf"give 1 to {4 * cores}"):
        runtime.set_threads(100000)
    assert torch.get_num_threads() == before
    runtime.set_threads(4 * cores)()  # the most allowed is accepted (and restored)
    assert torch.get_num_threads() == before


def test_auto_threads_drops_to_one_only_when_oversubscribed(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 1.0, 0.0, 0.0))
    assert runtime.auto_threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert runtime.auto_threads() == torch.get_num_threads()


def test_compile_failure_falls_back_to_library_kernel(monkeypatch, image):
    def broken(*_a, **_k):
        raise RuntimeError("no C++ compiler in this test")
    monkeypatch.setattr(kernels, "_built", {})
    monkeypatch.setattr(kernels, "compile_report", {})
    monkeypatch.setattr(torch, "compile", broken)
    assert kernels.get_sincos("poly") is kernels.eager_sincos
    assert "no C++ compiler" in kernels.compile_report["fallback_reason"]
    spec = NetworkSpec(2, 3, 8, 1)
    result = fit(image, spec, MLP(spec), _cfg("compiled", epochs=1))
    assert result.epochs == 1 and math.isfinite(result.history[0][1])


def test_compiled_kernel_failing_at_call_time_falls_back(monkeypatch):
    calls = []

    def fails_when_called(*_a, **_k):
        def run(_z):
            calls.append(1)
            raise RuntimeError("recompile failed")
        return run
    monkeypatch.setattr(kernels, "_built", {})
    monkeypatch.setattr(torch, "compile", fails_when_called)
    kernel = kernels.get_sincos("poly")
    z = torch.randn(kernels.MIN_COMPILED_ELEMENTS + 1) * 20
    s, c = kernel(z.clone())
    assert torch.equal(s, torch.sin(z)) and torch.equal(c, torch.cos(z))
    assert len(calls) == 1  # tried once (at the probe), then the library kernel for good


def test_unknown_kernel_is_an_error():
    with pytest.raises(InrzipError, match="sin/cos kernel"):
        kernels.get_sincos("table")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler for inductor")
def test_compiled_kernel_matches_library_on_large_inputs():
    kernel = kernels.get_sincos("poly")
    z = torch.randn(kernels.MIN_COMPILED_ELEMENTS * 2) * 50
    s, c = kernel(z)
    assert float((s - torch.sin(z)).abs().max()) < 2e-6 and float((c - torch.cos(z)).abs().max()) < 2e-6


def test_fit_many_qat_equals_separate_qat_fit(image):
    spec = NetworkSpec(2, 3, 8, 1)
    cfg = _cfg("fast", epochs=3, qat_quantizer="minmax", qat_bits=6, qat_start=0.34)
    one = fit(image, spec, MLP(spec, seed=3), cfg)
    many = fit_many(image, spec, [MLP(spec, seed=3)], cfg)[0]
    np.testing.assert_allclose([h[1] for h in many.history], [h[1] for h in one.history], rtol=1e-4)
    assert set(many.qat_states) == set(one.qat_states)


def test_bf16_stack_is_close_to_fp32_and_hands_float32_gradients():
    spec = NetworkSpec(2, 3, 24, 3)
    param = MLP(spec, seed=4)
    x = torch.rand(500, 2) * 2 - 1
    flat = [t for layer in param.layers() for t in layer]
    ref = SineStack.apply(kernels.eager_sincos, spec.omega, None, x, *flat)
    low = SineStack.apply(kernels.eager_sincos, spec.omega, torch.bfloat16, x, *flat)
    assert low.dtype == torch.float32
    diff = float((low - ref).detach().abs().max())
    assert 0 < diff < 0.05 * float(ref.detach().abs().max())  # bf16 did run, and stays close
    g_ref = torch.autograd.grad(ref.square().sum(), list(param.parameters()))
    g_low = torch.autograd.grad(low.square().sum(), list(param.parameters()))
    for a, b in zip(g_ref, g_low):
        assert b.dtype == torch.float32
        assert float((a - b).norm()) < 0.1 * float(a.norm())


def test_bf16_fit_keeps_quality_and_needs_the_fused_engine(image):
    spec = NetworkSpec(2, 3, 24, 3)
    psnrs = {}
    for precision in ("fp32", "bf16"):
        param = MLP(spec, seed=0)
        fit(image, spec, param, _cfg("fast", epochs=60, precision=precision))
        psnrs[precision] = _psnr(image, spec, param)
    assert psnrs["fp32"] > 20
    assert abs(psnrs["bf16"] - psnrs["fp32"]) < 0.5, psnrs
    with pytest.raises(InrzipError, match="fast or compiled"):
        fit(image, spec, MLP(spec, seed=0), _cfg("reference", precision="bf16"))
    with pytest.raises(InrzipError, match="unknown precision"):
        fit(image, spec, MLP(spec, seed=0), _cfg("fast", precision="fp8"))
    results = fit_many(image, spec, [MLP(spec, seed=s) for s in range(2)], _cfg("fast", precision="bf16"))
    assert all(math.isfinite(r.history[-1][1]) for r in results)


def test_losses_give_one_value_per_model_and_fit_many_mixes_losses(image):
    from inrzip.fit import LOSSES
    pred, target = torch.rand(3, 50, 2), torch.rand(3, 50, 2)
    for name, fn in LOSSES.items():
        per_model = fn(pred, target)
        assert per_model.shape == (3,), name
        assert torch.allclose(per_model, torch.stack([fn(pred[j], target[j]) for j in range(3)])), name
    spec = NetworkSpec(2, 3, 12, 1)
    cfgs = [_cfg("fast", loss="mse"), _cfg("fast", loss="log10mse")]
    separate = [fit(image, spec, MLP(spec, seed=1), c) for c in cfgs]
    together = fit_many(image, spec, [MLP(spec, seed=1) for _ in cfgs], cfgs)
    for one, many in zip(separate, together):
        np.testing.assert_allclose([h[1] for h in many.history], [h[1] for h in one.history], rtol=1e-4)
    assert together[0].history[-1][1] > 0 > together[1].history[-1][1]  # MSE vs its log10


def test_fit_many_refuses_images_of_equal_pixel_count_but_other_shape(image):
    wide = ImageSignal(np.ascontiguousarray(image.pixels[:16, :32]), image.depth)
    tall = ImageSignal(np.ascontiguousarray(image.pixels[:32, :16]), image.depth)
    spec = NetworkSpec(2, 3, 8, 1)
    with pytest.raises(InrzipError, match="share coordinates"):
        fit_many([wide, tall], spec, [MLP(spec, seed=0), MLP(spec, seed=1)], _cfg("fast", epochs=1, batch_size=128))


# The ``numba`` sin/cos kernel and engine, ``auto``'s CPU default: the library's values to float32 rounding, the same
# fit as the ``fast`` engine's, a clean fallback, and a fit clock that counts the kernel's loading.

def test_numba_sincos_matches_library_over_training_range():
    z = torch.cat([torch.linspace(-1000.0, 1000.0, 200_001), torch.randn(10_000) * 30])
    s, c = numba_sincos.sincos(z.clone())
    exact = z.double()
    assert float((s.double() - exact.sin()).abs().max()) < 2e-6
    assert float((c.double() - exact.cos()).abs().max()) < 2e-6
    small = z[z.abs() < 200].double()  # where pre-activations of a trained SIREN live: float32 rounding
    s, c = numba_sincos.sincos(small.float())
    assert float((s.double() - small.sin()).abs().max()) < 2e-7
    assert float((c.double() - small.cos()).abs().max()) < 2e-7


def test_numba_sincos_non_finite_inputs_give_nan_and_absurd_ones_do_not_crash():
    z = torch.tensor([float("nan"), float("inf"), -float("inf"), 1e12, -3e9, 0.5])
    s, c = numba_sincos.sincos(z.clone())
    assert torch.isnan(s[:3]).all() and torch.isnan(c[:3]).all()  # as torch.sin / torch.cos: the guard sees them
    assert abs(float(s[5]) - np.sin(0.5)) < 1e-7 and abs(float(c[5]) - np.cos(0.5)) < 1e-7


def test_numba_sincos_split_over_threads_equals_one_thread():
    z = torch.randn(numba_sincos.PARALLEL_FROM + 12345) * 40
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = numba_sincos.sincos(z.clone())
        torch.set_num_threads(2)
        two = numba_sincos.sincos(z.clone())
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])


def test_numba_kernel_hands_what_it_cannot_take_to_the_library():
    kernel = kernels.get_sincos("numba")
    for z in (torch.randn(64, 8).double() * 5, (torch.randn(8, 64) * 5).t(), torch.randn(50).bfloat16()):
        s, c = kernel(z.clone())
        assert s.dtype == z.dtype and torch.equal(s, torch.sin(z)) and torch.equal(c, torch.cos(z))


def test_numba_kernel_unavailable_falls_back_to_library(monkeypatch):
    monkeypatch.setitem(sys.modules, "inrzip.fit.engine.numba_sincos", None)  # its import now fails, as without Numba
    monkeypatch.setattr(kernels, "_built", {})
    monkeypatch.setattr(kernels, "compile_report", {})
    assert kernels.get_sincos("numba") is kernels.eager_sincos
    assert "numba_sincos halted" in kernels.compile_report["fallback_reason"]  # the import error, named


def test_auto_is_numba_on_the_cpu_and_judges_the_compile_elsewhere():
    assert engines.resolve_engine("auto", 1000).name == "numba"
    assert engines.resolve_engine("auto", 10 ** 12, budget_seconds=600.0, device="cpu").name == "numba"
    assert engines.resolve_engine("auto", 1000, device="cuda").name == "fast"
    assert engines.resolve_engine("auto", engines.AUTO_COMPILE_SAMPLES, device="cuda").name == "compiled"
    assert engines.resolve_engine("auto", 0, budget_seconds=engines.AUTO_COMPILE_SECONDS, device="cuda").name == \
        "compiled"
    assert engines.resolve_engine("numba").kernel == "numba"


@pytest.mark.parametrize("name,make", [("mlp", lambda s: MLP(s, seed=2)),
                                       ("doh", lambda s: DOH(s, seed=2, latent_ratio=0.5))])
def test_numba_engine_follows_fast_engine_loss_trajectory(image, name, make):
    spec = NetworkSpec(2, 3, 16, 2, pe_freqs=0 if name == "mlp" else 4)
    runs = {eng: fit(image, spec, make(spec), _cfg(eng, lr=1e-3 if name == "mlp" else 1e-4))
            for eng in ("fast", "numba")}
    fast, jit = (np.array([h[1] for h in runs[e].history]) for e in ("fast", "numba"))
    assert fast[-1] < fast[0]  # it really trained
    np.testing.assert_allclose(jit, fast, rtol=1e-4)


def test_fit_clock_counts_building_the_engine(monkeypatch, image):
    """Loading or compiling a kernel is part of a fit's time (and of its --time-budget): it used to happen before
    the clock started, so a budget of S seconds took S plus the compile."""
    real = engines.Engine.forward

    def slow_forward(self, *args, **kwargs):
        time.sleep(0.4)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(engines.Engine, "forward", slow_forward)
    spec = NetworkSpec(2, 3, 8, 1)
    result = fit(image, spec, MLP(spec), _cfg("numba", epochs=1))
    assert result.seconds >= 0.4
    budgeted = fit(image, spec, MLP(spec), _cfg("numba", epochs=10 ** 6, time_budget=0.3))
    assert budgeted.epochs == 1 and budgeted.seconds >= 0.4  # the budget was spent before the first epoch ended
