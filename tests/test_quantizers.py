"""Quantizers of seed 000 (explicit, distributional, kmeans) beside minmax: codes, error bounds, exact
decoding from float32 side info, determinism, STE gradients, QAT state, and a real file round trip."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

import inrzip
import inrzip.quant  # registers explicit / distributional / kmeans
from inrzip.errors import FormatError, InrzipError
from inrzip.quant import Distributional, KMeans, QATState, QTensor, get_quantizer
from inrzip.quant.codebook import lloyd1d, nearest_codes, torch_nearest, torch_table
from inrzip.quant.uniform import GAUSS_K

BITS = [2, 3, 4, 5, 6, 7, 8, 16]
# name -> factory; the decoder always uses get_quantizer(name), i.e. default options
VARIANTS = {
    "minmax": lambda: get_quantizer("minmax"),
    "explicit": lambda: get_quantizer("explicit"),
    "distributional": lambda: get_quantizer("distributional"),
    "distributional-quantile": lambda: Distributional(levels="quantile"),
    "kmeans": lambda: get_quantizer("kmeans"),
}


def _base(variant: str) -> str:
    return variant.split("-")[0]


def weights(n: int = 3000, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    """Gaussian-ish layer weights with a few heavier-tailed values, as trained SIRENs have."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, scale, n)
    x[: n // 50] = rng.laplace(0.0, 3 * scale, n // 50)
    return rng.permutation(x).astype(np.float32)


def mse(q, x: np.ndarray, bits: int) -> float:
    return float(np.mean((q.dequantize(q.quantize(x, bits)).astype(np.float64) - x) ** 2))


def bitwise(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_codes_in_range_and_side_info_shape(variant, bits):
    q, x = VARIANTS[variant](), weights()
    qt = q.quantize(x, bits)
    assert qt.codes.dtype == np.int64 and qt.codes.shape == x.shape and qt.bits == bits
    assert qt.codes.min() >= 0 and qt.codes.max() < 1 << bits
    assert qt.params.dtype == np.float32
    expected = get_quantizer(_base(variant)).num_params(bits, x.size)
    if expected is not None:
        assert qt.params.size == expected
    deq = get_quantizer(_base(variant)).dequantize(qt)
    assert deq.dtype == np.float32 and deq.shape == x.shape
    # the decoder, built with default options, decodes what any encoder option wrote
    assert np.array_equal(bitwise(deq), bitwise(q.dequantize(qt)))


@pytest.mark.parametrize("bits", BITS)
def test_uniform_error_within_half_a_level(bits):
    x = weights()
    inside = np.clip(x * 5, -1, 1)  # explicit: values inside [-1, 1] are off by at most half a step
    err = np.abs(get_quantizer("explicit").dequantize(get_quantizer("explicit").quantize(inside, bits)) - inside)
    assert err.max() <= 2.0 / ((1 << bits) - 1) / 2 * (1 + 1e-4) + 1e-7
    q = get_quantizer("distributional")
    qt = q.quantize(x, bits)
    lo, hi = (float(v) for v in qt.params)
    assert x.min() <= lo < hi <= x.max()
    step = (hi - lo) / ((1 << bits) - 1)
    deq = q.dequantize(qt).astype(np.float64)
    bound = np.maximum(step / 2 * (1 + 1e-4) + 1e-7, np.maximum(lo - x, x - hi))  # clipped values: distance to range
    assert np.all(np.abs(deq - x) <= bound + 1e-7)


def test_explicit_clips_to_unit_interval():
    q = get_quantizer("explicit")
    out = q.dequantize(q.quantize(np.array([-3.0, -1.0, 0.0, 1.0, 7.5], np.float32), 4))
    assert out[0] == -1.0 and out[1] == -1.0 and out[3] == 1.0 and out[4] == 1.0
    assert q.quantize(np.zeros(5, np.float32), 4).params.size == 0


def test_distributional_range_follows_gaussian_optimum():
    x = np.random.default_rng(3).normal(0.5, 2.0, 200_000).astype(np.float32)
    for bits in (2, 3, 4):
        lo, hi = get_quantizer("distributional").quantize(x, bits).params
        assert (hi - lo) / 2 / 2.0 == pytest.approx(GAUSS_K[bits], rel=0.01)
    # every bit depth beats minmax on Gaussian weights (minmax wastes levels on the extreme tails)
    for bits in (2, 3, 4, 5):
        assert mse(get_quantizer("distributional"), x, bits) < mse(get_quantizer("minmax"), x, bits)


def _gauss_uniform_mse(k: float, levels: int) -> float:
    """Exact MSE of ``levels`` uniform levels on [-k, k] for N(0, 1), from the normal CDF and density."""
    lv = np.linspace(-k, k, levels)
    edges = np.concatenate([[-np.inf], (lv[:-1] + lv[1:]) / 2, [np.inf]])
    cdf = np.array([0.5 * (1 + math.erf(e / math.sqrt(2))) for e in edges])
    pdf = np.exp(-np.where(np.isfinite(edges), edges, 0.0) ** 2 / 2) / math.sqrt(2 * math.pi)
    pdf[[0, -1]] = 0.0
    t = np.where(np.isfinite(edges), edges, 0.0) * pdf  # e * pdf(e), zero at +/- infinity
    m0, m1, m2 = np.diff(cdf), -np.diff(pdf), np.diff(cdf) - np.diff(t)
    return float(np.sum(m2 - 2 * lv * m1 + lv**2 * m0))


@pytest.mark.parametrize("bits", range(1, 11))
def test_gauss_k_table_is_the_mse_optimal_clipping(bits):
    k, n = GAUSS_K[bits], 1 << bits
    best = _gauss_uniform_mse(k, n)
    assert best < _gauss_uniform_mse(k * 0.99, n) and best < _gauss_uniform_mse(k * 1.01, n)


@pytest.mark.parametrize("bits", [2, 3])
def test_kmeans_beats_minmax_and_distributional_at_low_bits(bits):
    x = weights(5000, seed=bits)
    km = mse(get_quantizer("kmeans"), x, bits)
    assert km < 0.5 * mse(get_quantizer("minmax"), x, bits)
    assert km < mse(get_quantizer("distributional"), x, bits)


@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_kmeans_never_worse_than_minmax(bits):
    """Lloyd from minmax's own levels cannot increase the error, and that seeding is always tried."""
    x = weights(4000, seed=10 + bits)
    assert mse(get_quantizer("kmeans"), x, bits) <= mse(get_quantizer("minmax"), x, bits) * (1 + 1e-5)


def test_lloyd1d_matches_or_beats_sklearn():
    x = weights(4000, seed=7)
    ours, sk = mse(get_quantizer("kmeans"), x, 4), mse(KMeans(engine="sklearn"), x, 4)
    assert ours <= sk * 1.01


@pytest.mark.parametrize("variant", VARIANTS)
def test_deterministic(variant):
    x = weights(2500, seed=4)
    a, b = VARIANTS[variant]().quantize(x, 3), VARIANTS[variant]().quantize(x.copy(), 3)
    assert np.array_equal(a.codes, b.codes) and np.array_equal(bitwise(a.params), bitwise(b.params))


@pytest.mark.parametrize("engine", ["lloyd1d", "sklearn"])
def test_kmeans_engines_deterministic(engine):
    x = weights(1500, seed=5)
    a, b = KMeans(engine=engine).quantize(x, 5), KMeans(engine=engine).quantize(x, 5)
    assert np.array_equal(a.codes, b.codes) and np.array_equal(bitwise(a.params), bitwise(b.params))


@pytest.mark.parametrize("variant", ["kmeans", "distributional-quantile"])
@pytest.mark.parametrize("size,bits", [(1, 2), (4, 2), (20, 5), (256, 8), (3000, 16)])
def test_codebook_exact_when_few_elements(variant, size, bits):
    x = weights(size, seed=size)
    q = VARIANTS[variant]()
    qt = q.quantize(x, bits)
    assert qt.params.size == size == KMeans().num_params(bits, size)
    if qt.params.size != 2:  # a 2-level distributional side info is read as a range (documented)
        assert np.array_equal(bitwise(get_quantizer(_base(variant)).dequantize(qt)), bitwise(x))


def test_kmeans_exact_when_few_distinct_values():
    x = np.random.default_rng(1).choice(np.float32([-0.3, -0.01, 0.02, 0.5, 1.25]), 1000)
    qt = get_quantizer("kmeans").quantize(x, 3)
    assert qt.params.size == 8 and np.all(np.diff(qt.params) >= 0)
    assert np.array_equal(get_quantizer("kmeans").dequantize(qt), x)


def test_kmeans_codebook_sorted_and_codes_ordered():
    x = weights(3000, seed=2)
    qt = get_quantizer("kmeans").quantize(x, 4)
    assert np.all(np.diff(qt.params) > 0)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(qt.codes[order]) >= 0)  # larger value, never a smaller code


@pytest.mark.parametrize("bits", [3, 8])
@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_serialised_side_info_decodes_identically(variant, bits):
    x = weights(2000, seed=9)
    qt = VARIANTS[variant]().quantize(x, bits)
    before = get_quantizer(_base(variant)).dequantize(qt)
    params = np.frombuffer(qt.params.astype("<f4").tobytes(), dtype="<f4")
    codes = np.frombuffer(qt.codes.astype("<u2").tobytes(), dtype="<u2").astype(np.int64)
    after = get_quantizer(_base(variant)).dequantize(QTensor(codes, params, bits))
    assert np.array_equal(bitwise(before), bitwise(after))


@pytest.mark.parametrize("variant", VARIANTS)
def test_ste_gradient_is_identity(variant):
    q = VARIANTS[variant]()
    x = torch.tensor(weights(600, seed=11) * 20).reshape(20, 30).requires_grad_(True)  # some clip in explicit
    g = torch.randn(20, 30, generator=torch.Generator().manual_seed(0))
    y = q.fake_quantize(x, 3)
    y.backward(g)
    assert torch.equal(x.grad, g)
    assert y.shape == x.shape and not torch.equal(y.detach(), x.detach())


@pytest.mark.parametrize("variant", ["explicit", "kmeans", "distributional-quantile"])
def test_fake_quantize_forward_equals_ptq_values(variant):
    q, x = VARIANTS[variant](), weights(3000, seed=12)
    ptq = q.dequantize(q.quantize(x, 4))
    fq = q.fake_quantize(torch.from_numpy(x), 4).detach().numpy()
    assert np.array_equal(bitwise(fq), bitwise(ptq))  # same table, same nearest level, exact STE forward


def test_device_assignment_matches_numpy_at_midpoints():
    """float32 bucketize on float32-rounded midpoints picks the same level as the float64 rule, even for
    values one ulp around each midpoint."""
    cb = np.sort(np.random.default_rng(16).normal(0, 1, 64).astype(np.float32))
    m = ((cb[:-1].astype(np.float64) + cb[1:]) / 2).astype(np.float32)
    x = np.concatenate([m, np.nextafter(m, np.float32(np.inf)), np.nextafter(m, np.float32(-np.inf)), cb])
    table = torch_table(cb, torch.device("cpu"))
    assert np.array_equal(torch_nearest(torch.from_numpy(x), table).numpy(), cb[nearest_codes(x, cb)])


def test_fake_quantize_distributional_std_close_to_ptq():
    q, x = get_quantizer("distributional"), weights(3000, seed=13)
    qt = q.quantize(x, 4)
    step = float(qt.params[1] - qt.params[0]) / 15
    fq = q.fake_quantize(torch.from_numpy(x), 4).detach().numpy()
    assert np.abs(fq - q.dequantize(qt)).max() <= step * 1.001


class _Counting(KMeans):
    calls = 0

    def qat_table(self, x, bits, prev):
        type(self).calls += 1
        return super().qat_table(x, bits, prev)


def test_qat_state_refreshes_every_k_steps_and_warm_starts():
    q = _Counting()
    w = torch.tensor(weights(2000, seed=14)).requires_grad_(True)
    state = QATState(q, 3, refresh=4)
    for step in range(10):
        y = state(w)
        assert torch.unique(y.detach()).numel() <= 8
        y.sum().backward()
        assert torch.equal(w.grad, torch.ones_like(w))
        w.grad = None
        with torch.no_grad():
            w.add_(0.001 * torch.randn(w.shape, generator=torch.Generator().manual_seed(step)))
    assert _Counting.calls == 3  # steps 0, 4, 8
    final = state.finalize(w.detach().numpy())
    assert final.params.size == 8 and np.all(np.diff(final.params) > 0)
    # the stored network is the one the last training step saw: same codebook, same values
    seen = q.qat_apply(w.detach(), state.table, 3).numpy()
    assert np.array_equal(bitwise(get_quantizer("kmeans").dequantize(final)), bitwise(seen))
    assert mse(get_quantizer("kmeans"), w.detach().numpy(), 3) == pytest.approx(
        float(np.mean((seen - w.detach().numpy()) ** 2)), rel=0.05)  # tracking kept the codebook near-optimal


def test_qat_state_device_update_is_a_lloyd_step():
    x = weights(3000, seed=17)
    q = get_quantizer("kmeans")
    cb = np.linspace(x.min(), x.max(), 16).astype(np.float32)
    new = q.qat_update(torch.from_numpy(x), torch_table(cb, torch.device("cpu")), 4)[:16].numpy()
    ref = lloyd1d(np.sort(x.astype(np.float64)), cb.astype(np.float64), 1)
    assert np.allclose(new, ref, rtol=0, atol=1e-6)


def test_uniform_qat_state_matches_ptq_each_step():
    state, q = QATState(get_quantizer("explicit"), 5), get_quantizer("explicit")
    w = torch.tensor(weights(1000, seed=18) * 4)
    for _ in range(3):
        assert np.array_equal(bitwise(state(w).numpy()), bitwise(q.dequantize(q.quantize(w.numpy(), 5))))


def test_qat_state_falls_back_for_plain_quantizers():
    state = QATState(get_quantizer("minmax"), 4)
    w = torch.linspace(-1, 1, 100, requires_grad=True)
    y = state(w)
    y.sum().backward()
    assert torch.unique(y.detach()).numel() <= 16 and torch.equal(w.grad, torch.ones(100))
    assert np.array_equal(state.finalize(w.detach().numpy()).codes, get_quantizer("minmax").quantize(
        w.detach().numpy(), 4).codes)


@pytest.mark.parametrize("name,params,codes,bits", [
    ("kmeans", [0.0, 1.0], [0, 2], 2),  # code beyond the codebook
    ("kmeans", list(range(9)), [0, 1], 3),  # codebook longer than the alphabet
    ("kmeans", [0.0, float("nan")], [0, 1], 1),
    ("explicit", [0.5], [0, 1], 2),
    ("distributional", [0.0, 1.0, 2.0, 3.0, 4.0], [0, 1], 2),
    ("distributional", [0.0, float("inf")], [0, 1], 2),
])
def test_corrupt_side_info_raises_format_error(name, params, codes, bits):
    with pytest.raises(FormatError):
        get_quantizer(name).dequantize(QTensor(np.array(codes, np.int64), np.array(params, np.float32), bits))


@pytest.mark.parametrize("name", ["kmeans", "distributional", "explicit"])
def test_non_finite_weights_and_bad_options_are_reported(name):
    with pytest.raises(InrzipError):
        get_quantizer(name).quantize(np.array([0.0, np.nan, 1.0], np.float32), 4)
    with pytest.raises(InrzipError):
        Distributional(levels="median")
    with pytest.raises(InrzipError):
        KMeans(engine="nope").quantize(weights(500), 2)


def test_empty_tensor():
    for variant in VARIANTS:
        q = VARIANTS[variant]()
        qt = q.quantize(np.zeros(0, np.float32), 4)
        assert qt.codes.size == 0 and q.dequantize(qt).size == 0


def test_kmeans_speed_on_20k_values_at_8_bits():
    x = weights(20_000, seed=15)
    q = get_quantizer("kmeans")
    start = time.perf_counter()
    q.quantize(x, 8)
    assert time.perf_counter() - start < 2.0  # ~0.03 s measured on 2 shared cores; sklearn takes ~1 s


def _decoded_psnr_matches_report(data_dir, **cfg) -> None:
    """Fit a real 64x64 Kodak crop, write the file, decode it: the decoder's PSNR is the encoder's."""
    from PIL import Image

    from inrzip.metrics import psnr

    config = inrzip.CompressConfig(arch="12x1", parameterization="mlp", fit=inrzip.FitConfig(epochs=4, progress=False),
                                   **cfg)
    enc = inrzip.encode(data_dir / "kodim23_64.png", config)
    image = inrzip.decompress(enc.data)
    ref = np.asarray(Image.open(data_dir / "kodim23_64.png").convert("RGB"))
    assert abs(psnr(image / 255.0, ref / 255.0) - enc.report["psnr"]) < 0.05
    assert enc.report["psnr"] > 8.0  # a real (if short) fit, not garbage


@pytest.mark.parametrize("quantizer", ["explicit", "distributional", "kmeans"])
def test_real_image_file_decodes_to_the_encoder_values(data_dir, quantizer):
    _decoded_psnr_matches_report(data_dir, bits=4, quantizer=quantizer)


def test_qat_through_the_trainer_decodes_exactly(data_dir):
    """The trainer's QAT path (stateless STE) with k-means at 3 bits, written and decoded."""
    _decoded_psnr_matches_report(data_dir, bits=3, quantizer="kmeans", qat=True)


def test_qat_file_keeps_the_better_of_its_two_codebooks(data_dir):
    """After QAT the writer tries the codebooks training saw and a fresh k-means of the final weights, and
    writes whichever decodes better (on the paper-budget DIV2K fits the fresh one won by 0.5-2.2 dB, on CIFAR the
    training one mostly did): the default file is one of the two forced ones, the best, and says which."""
    config = inrzip.CompressConfig(arch="12x1", parameterization="mlp", bits=3, quantizer="kmeans", qat=True,
                                   fit=inrzip.FitConfig(epochs=6, progress=False))
    fitted = inrzip.train(data_dir / "kodim23_64.png", config)
    forced = {name: inrzip.write(fitted, qat_tables=flag) for name, flag in (("training", True), ("fresh", False))}
    assert forced["training"].data != forced["fresh"].data  # two real candidates
    best = inrzip.write(fitted)
    winner = max(forced, key=lambda k: forced[k].report["psnr"])
    assert best.report["qat_tables"] == winner and best.data == forced[winner].data
    assert best.report["psnr"] == max(e.report["psnr"] for e in forced.values())
    assert best.report["qat_candidates"] == {k: {"psnr": e.report["psnr"]} for k, e in forced.items()}
    assert forced["training"].report["qat_tables"] == "training" and "qat_tables" not in forced["fresh"].report


def test_cli_says_which_qat_codebook_the_file_keeps(data_dir, tmp_path, capsys):
    from inrzip.cli import main

    out = tmp_path / "q.inr"
    assert main(["compress", str(data_dir / "kodim23_64.png"), "-o", str(out), "--mlp", "--arch", "12x1", "--bits",
                 "3", "--quantizer", "kmeans", "--qat", "--epochs", "6", "--quiet"]) == 0
    note = [line for line in capsys.readouterr().out.splitlines() if "the file keeps" in line]
    assert len(note) == 1 and "PSNR" in note[0] and "codebooks QAT trained with" in note[0]
    shown = float(note[0].split("PSNR ")[1].split(";")[0])
    from PIL import Image

    from inrzip.metrics import psnr
    ref = np.asarray(Image.open(data_dir / "kodim23_64.png").convert("RGB")) / 255.0
    assert abs(psnr(inrzip.decompress(out.read_bytes()) / 255.0, ref) - shown) < 1e-3  # the kept one is the file
