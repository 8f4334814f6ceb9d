"""Decoding at any resolution (issue 17): a band-limited positional encoding, so a 2x decode has no stripes;
pixel-area sample positions; area averaging below 1x; files written before still decode as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import inrzip
from inrzip.bitstream.header import header_spec, network_header
from inrzip.errors import FormatError
from inrzip.nets.networks import NetworkSpec, encode_inputs, folded_harmonics, pe_frequencies, positional_encoding
from inrzip.nets.parameterizations import MLP
from inrzip.signals.image import image_grid

DATA = Path(__file__).resolve().parent / "data"
MESH = DATA / "bunny_decimated_5k_instantngp.obj"


def _stripes(img: np.ndarray) -> float:
    """Mean |difference| between neighbouring rows and columns, in levels."""
    a = img.astype(np.float64)
    return max(float(np.abs(np.diff(a, axis=0)).mean()), float(np.abs(np.diff(a, axis=1)).mean()))


def test_band_limited_encoding_folds_octaves_to_the_grid_nyquist():
    # 2^9 pi on a 512-point axis is pi at the samples, 2^8 pi is the Nyquist alternation (-255)
    assert [j for j, _ in folded_harmonics(10, 512)] == [1, 2, 4, 8, 16, 32, 64, 128, -255, 1]
    assert [j for j, _ in folded_harmonics(10, 64)] == [1, 2, 4, 8, 16, -31, 1, 2, 4, 8]
    for n in (2, 3, 47, 64, 65, 96, 511, 512, 768, 1000):
        assert all(2 * abs(j) <= n - 1 for j, _ in folded_harmonics(12, n)), n
        x = torch.linspace(-1, 1, n, dtype=torch.float64)[:, None]  # the same features at every sample
        folded = encode_inputs(NetworkSpec(1, 1, 4, 0, pe_freqs=12, pe_grid=(n,)), x)
        assert torch.allclose(folded, positional_encoding(x, 12), atol=1e-9), n
    image = inrzip.api.load(DATA / "gray_96x48.png")  # 96 wide, 48 tall
    spec = inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh")).spec
    assert (spec.pe_freqs, spec.pe_grid, spec.encoded_features) == (10, (96, 48), 42)
    assert max(abs(w) for w, _ in pe_frequencies(spec)[1]) <= 23.5 * np.pi  # Nyquist of 48 rows
    full = inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh", pe_band="full")).spec
    assert (full.pe_freqs, full.pe_grid) == (10, ())
    assert max(w for w, _ in pe_frequencies(full)[1]) == pytest.approx(512 * np.pi)  # far past a 48-row grid


def test_the_half_band_keeps_under_half_the_nyquist_rate():
    # near-Nyquist aliases (128 -> -255 on 512 points) alternate sign sample to sample: lowered by octaves
    assert [j for j, _ in folded_harmonics(10, 512, 0.5)] == [1, 2, 4, 8, 16, 32, 64, 64, -127, 1]
    assert [j for j, _ in folded_harmonics(10, 256, 0.5)] == [1, 2, 4, 8, 16, 32, 32, -63, 1, 2]
    for n in (2, 3, 47, 64, 65, 96, 511, 512, 768, 1000):
        assert all(2 * abs(j) <= 0.5 * (n - 1) for j, _ in folded_harmonics(12, n, 0.5)), n
        assert folded_harmonics(12, n, 1.0) == folded_harmonics(12, n), n  # cap 1: the exact aliases
    image = inrzip.api.load(DATA / "gray_96x48.png")
    half = inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh", pe_band="half")).spec
    assert half.pe_cap == 0.5 and max(abs(w) for w, _ in pe_frequencies(half)[1]) <= 0.5 * 23.5 * np.pi
    folded = inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh", pe_band="folded")).spec
    assert (folded.pe_grid, folded.pe_cap) == ((96, 48), 1.0)


def test_the_default_band_is_the_kinds_cap():
    """Images keep a quarter of the Nyquist rate (measured: docs/resolution.md), occupancy grids half."""
    assert [j for j, _ in folded_harmonics(10, 256, 0.25)] == [1, 2, 4, 8, 16, 16, 16, -31, 1, 2]
    image = inrzip.api.load(DATA / "gray_96x48.png")
    spec = inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh")).spec
    assert (spec.pe_grid, spec.pe_cap) == ((96, 48), 0.25)
    assert max(abs(w) for w, _ in pe_frequencies(spec)[1]) <= 0.25 * 23.5 * np.pi
    assert inrzip.prepare(image, inrzip.CompressConfig(parameterization="doh", pe_band="nyquist")).spec == spec
    shape = inrzip.api.load(MESH, resolution=16)
    grid = inrzip.prepare(shape, inrzip.CompressConfig(parameterization="doh")).spec
    assert (grid.pe_grid, grid.pe_cap) == ((16, 16, 16), 0.5)


def test_header_round_trips_the_cap_and_refuses_bad_ones():
    spec = NetworkSpec(2, 3, 8, 1, pe_freqs=6, pe_grid=(96, 48), pe_cap=0.5)
    header = network_header(spec, MLP(spec), "minmax", 8, "image")
    assert header["pe_cap"] == 0.5 and header_spec(header) == spec
    exact = NetworkSpec(2, 3, 8, 1, pe_freqs=6, pe_grid=(96, 48))
    assert "pe_cap" not in network_header(exact, MLP(exact), "minmax", 8, "image")  # files before the cap
    for bad in (0.0, -0.5, 1.5, float("nan"), float("inf"), 1, "0.5", True, None, [0.5]):
        with pytest.raises(FormatError, match="pe_cap"):
            header_spec({**header, "pe_cap": bad})
    no_grid = {k: v for k, v in header.items() if k != "pe_grid"}
    with pytest.raises(FormatError, match="pe_cap without pe_grid"):
        header_spec(no_grid)


def test_header_round_trips_the_grid_and_refuses_bad_ones():
    spec = NetworkSpec(2, 3, 8, 1, pe_freqs=6, pe_grid=(96, 48))
    header = network_header(spec, MLP(spec), "minmax", 8, "image")
    assert header["pe_grid"] == [96, 48] and header_spec(header) == spec
    octave = NetworkSpec(2, 3, 8, 1, pe_freqs=6)
    assert "pe_grid" not in network_header(octave, MLP(octave), "minmax", 8, "image")  # the earlier files' encoding
    for bad in ([6], [47, 23, 1], [0, 6], "6,5", [6.0, 5], [True, 3], [1 << 25, 3]):
        with pytest.raises(FormatError, match="pe_grid"):
            header_spec({**header, "pe_grid": bad})


@pytest.fixture(scope="module")
def fitted() -> dict[str, bytes]:
    """A 64x64 photo crop fitted by the default D'OH with each encoding band (short fits, same seed)."""
    image = inrzip.api.load(DATA / "kodim23_64.png")
    return {band: inrzip.compress(image, pe_band=band, epochs=60, batch_size=1024, progress=False, threads=1)
            for band in ("nyquist", "folded", "full")}


def test_a_2x_decode_has_no_stripes(fitted):
    one = inrzip.decompress(fitted["nyquist"])
    two = inrzip.decompress(fitted["nyquist"], scale=2)
    assert two.shape == (128, 128, 3)
    bicubic = np.asarray(Image.fromarray(one).resize((128, 128), Image.BICUBIC))
    assert _stripes(two) <= 2 * _stripes(bicubic)
    striped = inrzip.decompress(fitted["full"], scale=2)  # the old encoding: aliased top frequencies
    assert _stripes(striped) > 2 * _stripes(bicubic)


def test_the_band_limited_1x_decode_is_as_good(fitted):
    ref = np.asarray(Image.open(DATA / "kodim23_64.png").convert("RGB")) / 255.0
    quality = {b: inrzip.metrics.psnr(inrzip.decompress(d) / 255.0, ref) for b, d in fitted.items()}
    # The features are the same at the samples (test above), so this is the same fitting problem; what differs is
    # float rounding (sin(2^9 pi x) in float32 is off by ~1e-4), which a short fit amplifies by a few tenths of a dB
    # either way. The Kodak rate-distortion comparison is in docs/resolution.md.
    assert quality["nyquist"] >= quality["full"] - 1.0, quality


def test_a_smaller_decode_averages_areas(fitted):
    one = inrzip.decompress(fitted["nyquist"]).astype(np.float64)
    half = inrzip.decompress(fitted["nyquist"], scale=0.5).astype(np.float64)
    box = one.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    assert half.shape == (32, 32, 3)
    assert np.abs(half - box).max() <= 1.0  # each pixel is the mean of the 2x2 it covers (rounding aside)


def test_resampled_pixel_centres_follow_the_pixel_area_convention():
    # 2x of a 3-pixel axis: centres at -1/4, 1/4, 3/4, ... source pixels; 1x stays the fitted linspace grid
    up = image_grid(1, 6, source=(1, 3))[:, 0].tolist()
    assert up == pytest.approx([-1.25, -0.75, -0.25, 0.25, 0.75, 1.25])
    assert image_grid(2, 3)[:, 0].tolist() == [-1.0, 0.0, 1.0] * 2
    with pytest.raises(inrzip.InputError, match="scale"):
        inrzip.decompress(inrzip.compress(DATA / "kodim23_64.png", arch="4x0", epochs=1, progress=False), scale=-2)


def test_jittered_samples_stay_within_half_a_pixel_and_interpolate_the_image():
    """``ImageSignal(jitter=j)``: each epoch's samples move by at most j/2 pixel per axis, and their targets are
    the image's bicubic interpolation there (the pixel values themselves where nothing moved)."""
    import torch

    from inrzip.signals.image import ImageSignal

    rs = np.random.default_rng(0)
    pixels = rs.random((7, 9, 3)).astype(np.float32)
    still = ImageSignal(pixels, jitter=1e-9)
    coords, targets = still._data(torch.device("cpu"))
    moved, values = still._jittered(coords, torch.Generator().manual_seed(0))
    assert torch.allclose(values, targets, atol=1e-5) and torch.allclose(moved, coords, atol=1e-8)
    signal = ImageSignal(pixels, jitter=1.0)
    batches = list(signal.batches(16, torch.Generator().manual_seed(1), torch.device("cpu")))
    xy = torch.cat([b[0] for b in batches])
    assert xy.shape == coords.shape and float(xy.abs().max()) <= 1.0
    pixel = torch.tensor([(9 - 1) / 2.0, (7 - 1) / 2.0])  # coordinate units -> pixels
    nearest = torch.round((xy + 1) * pixel) / pixel - 1
    assert float(((xy - nearest) * pixel).abs().max()) <= 0.5 + 1e-5
    assert float(((xy - nearest) * pixel).abs().max()) > 0.25  # they do move
    flat = torch.cat([b[1] for b in batches])
    assert float(flat.min()) >= -0.5 - 0.2 and float(flat.max()) <= 0.5 + 0.2  # bicubic overshoots a little
    ramp = np.repeat(np.tile(np.arange(9) / 8.0, (7, 1))[..., None], 3, axis=2).astype(np.float32)
    moved, values = ImageSignal(ramp, jitter=1.0)._jittered(coords, torch.Generator().manual_seed(0))
    inner = moved[:, 0].abs() < 0.7  # away from the border the interpolated ramp is the ramp at the moved x
    assert torch.allclose(values[inner, 0], (moved[inner, 0] + 1) / 2 - 0.5, atol=0.01)


def test_jitter_on_a_share_of_the_samples_and_a_span_of_epochs():
    """``jitter_share`` moves that share of each epoch's samples (the rest keep the pixel centres and their exact
    values); ``jitter_epochs=(start, stop)`` jitters only those epochs. benchmarks/super_resolution.py exposes both."""
    import torch

    from inrzip.signals.image import ImageSignal

    pixels = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)
    grid, exact = ImageSignal(pixels)._data(torch.device("cpu"))

    def epoch(signal: ImageSignal) -> tuple[torch.Tensor, torch.Tensor]:
        parts = list(signal.batches(32, torch.Generator().manual_seed(2), torch.device("cpu")))
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def same(xy: torch.Tensor) -> torch.Tensor:  # (samples, grid points): exactly equal coordinates
        return (xy[:, None, :] == grid[None]).all(-1)

    def off_grid(xy: torch.Tensor) -> torch.Tensor:
        return ~same(xy).any(dim=1)

    half = ImageSignal(pixels, jitter=1.0, jitter_share=0.5)
    xy, values = epoch(half)
    moved = off_grid(xy)
    # half of the 120 samples, the first half of the epoch's random order (a corner sample moved outwards in both
    # axes is clamped back onto its own pixel, so a few may sit on the grid)
    assert not moved[60:].any() and int(moved[:60].sum()) >= 54
    idx = same(xy[~moved]).int().argmax(dim=1)
    assert torch.equal(values[~moved], exact[idx])  # the unmoved keep their pixel values
    phased = ImageSignal(pixels, jitter=1.0, jitter_epochs=(1, 2))
    counts = [int(off_grid(epoch(phased)[0]).sum()) for _ in range(3)]
    assert counts[0] == counts[2] == 0 and counts[1] >= 110
    with pytest.raises(inrzip.InputError, match="jitter_share"):
        ImageSignal(pixels, jitter=1.0, jitter_share=1.5)
