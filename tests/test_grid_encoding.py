"""A decoder tabulates the positional encoding once per image axis and gathers it per pixel
(``nets.NetworkField.on_grid``) instead of encoding every pixel's coordinates: the pixels must be those of the
per-pixel encoding bit for bit, at every scale and for every encoding (octave, folded, capped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inrzip.bitstream.pipeline import unpack
from inrzip.nets.networks import NetworkField, NetworkSpec, encode_inputs, feature_axes, infer
from inrzip.signals.image import ImageSignal

GOLDEN = Path(__file__).resolve().parent / "golden" / "v1"


@pytest.mark.parametrize("name", ["image_doh_capped_minmax8", "image_doh_folded_minmax8", "image_doh_siren_minmax8",
                                  "image_mlp_pe_bpp_tbits", "image_mlp_relu_pe8", "rgba_doh_minmax8"])
@pytest.mark.parametrize("scale", [1, 2, 0.5, 0.3, 1.37])
def test_tabulated_encoding_decodes_the_same_pixels(name, scale):
    header, spec, layers = unpack((GOLDEN / f"{name}.inr").read_bytes())
    assert spec.pe_freqs > 0  # the files chosen are the ones with an encoding
    tabulated = ImageSignal.reconstruct(header, NetworkField(spec, layers), scale=scale)
    per_pixel = ImageSignal.reconstruct(header, lambda x: infer(spec, layers, x), scale=scale)  # no on_grid
    assert tabulated.shape == per_pixel.shape
    assert np.array_equal(tabulated, per_pixel)


@pytest.mark.parametrize("spec", [NetworkSpec(2, 3, 8, 1, pe_freqs=4), NetworkSpec(2, 3, 8, 1, pe_freqs=10, pe_grid=(7, 300)),
                                  NetworkSpec(3, 1, 8, 1, pe_freqs=3, pe_grid=(5, 9, 2), pe_cap=0.5),
                                  NetworkSpec(2, 3, 8, 1)])
def test_feature_axes_name_the_coordinate_each_feature_reads(spec):
    """Moving one coordinate changes only the columns ``feature_axes`` gives it (a harmonic folded to 0 on a
    2-sample axis is constant, so not every one of them need change)."""
    torch.manual_seed(0)
    x = torch.rand(16, spec.in_features) * 2 - 1
    base, axes = encode_inputs(spec, x), feature_axes(spec)
    assert len(axes) == base.shape[1] == spec.encoded_features
    for a in range(spec.in_features):
        moved = x.clone()
        moved[:, a] += 0.123
        changed = (encode_inputs(spec, moved) != base).any(dim=0)
        assert changed.any()
        assert all(ax == a for ax, c in zip(axes, changed.tolist()) if c)


def test_on_grid_matches_the_network_at_the_grid_points():
    """Any grid (three axes of different lengths, not a pixel grid): the gathered features give the network's
    values at the points, exactly."""
    torch.manual_seed(1)
    spec = NetworkSpec(3, 2, 12, 2, pe_freqs=5, pe_grid=(11, 6, 4), pe_cap=0.5)
    layers = [(torch.randn(o, i) * 0.3, torch.randn(o) * 0.1) for o, i in
              [(12, spec.encoded_features), (12, 12), (12, 12), (2, 12)]]
    axes = [torch.linspace(-1, 1, n) for n in (11, 6, 4)]
    idx = [torch.randint(0, len(a), (50,)) for a in axes]
    field = NetworkField(spec, layers)
    points = torch.stack([a[i] for a, i in zip(axes, idx)], dim=1)
    assert torch.equal(field.on_grid(axes)(idx), field(points))


@pytest.mark.parametrize("n", [16, 24, 31])
def test_occupancy_grids_give_the_same_values(n):
    """Occupancy grids (three axes): at the training grid (16^3) and at others, the network's raw values at every
    grid point are the same tabulated or not (so the same voxels, whatever the threshold)."""
    from inrzip.signals import occupancy

    header, spec, layers = unpack((GOLDEN / "occupancy_doh_minmax8.inr").read_bytes())
    assert spec.pe_freqs > 0 and header["resolution"] == 16
    flat = torch.arange(n ** 3)
    tabulated = occupancy._on_grid(NetworkField(spec, layers), n, "cpu")(flat)
    per_point = infer(spec, layers, occupancy.grid_coords(flat, n))
    assert tabulated.shape == (n ** 3, 1) and tabulated.std() > 0
    assert torch.equal(tabulated, per_point)


@pytest.mark.parametrize("spec,major", [(NetworkSpec(2, 3, 12, 2, pe_freqs=4), (1, 0)),
                                        (NetworkSpec(2, 3, 12, 2), (1, 0)),
                                        (NetworkSpec(3, 2, 12, 2, pe_freqs=5, pe_grid=(11, 6, 4), pe_cap=0.5), (0, 1, 2)),
                                        (NetworkSpec(3, 2, 12, 2, pe_freqs=3), (2, 0, 1))])
def test_grid_spans_are_the_network_at_their_points(spec, major):
    """Runs of consecutive grid points (within a row, across rows, the whole grid, one point), in any axis order:
    the features built by one broadcast give the network's values at the points, exactly, and the scratch buffers
    reused from run to run (of different lengths) do not leak one run's values into another's."""
    torch.manual_seed(2)
    layers = [(torch.randn(o, i) * 0.3, torch.randn(o) * 0.1) for o, i in
              [(12, spec.encoded_features), (12, 12), (12, 12), (spec.out_features, 12)]]
    sizes = (11, 6, 4)[:spec.in_features]
    axes = [torch.linspace(-1, 1, n) for n in sizes]
    field = NetworkField(spec, layers)
    span = field.on_grid_span(axes, major)
    total = int(np.prod(sizes))
    strides = {a: int(np.prod([sizes[b] for b in major[k + 1:]])) for k, a in enumerate(major)}
    for start, stop in [(0, total), (3, 5), (0, 1), (total - 1, total), (7, 40), (2, 3 * sizes[major[-1]] + 1)]:
        flat = torch.arange(start, stop)
        points = torch.stack([axes[a][(flat // strides[a]) % sizes[a]] for a in range(len(sizes))], dim=1)
        got = span(start, stop)
        assert got.shape == (stop - start, spec.out_features)
        assert torch.equal(got, field(points))


def test_scratch_buffers_are_reused_and_give_the_same_values():
    """``infer_features`` with a ``Scratch`` writes the hidden layers into two buffers that later chunks reuse (no
    fresh allocation per layer), and returns what it returns without them."""
    from inrzip.nets.networks import Scratch, infer_features

    torch.manual_seed(3)
    spec = NetworkSpec(2, 3, 16, 3, pe_freqs=2)
    layers = [(torch.randn(o, i) * 0.3, torch.randn(o) * 0.1) for o, i in
              [(16, spec.encoded_features), (16, 16), (16, 16), (16, 16), (3, 16)]]
    scratch = Scratch()
    for n in (50, 20, 50, 80):
        h = encode_inputs(spec, torch.rand(n, 2) * 2 - 1)
        assert torch.equal(infer_features(spec, layers, h, scratch), infer_features(spec, layers, h))
    pointers = {k: b.data_ptr() for k, b in scratch.buffers.items()}
    infer_features(spec, layers, encode_inputs(spec, torch.rand(30, 2)), scratch)
    assert set(pointers) == {0, 1} and {k: b.data_ptr() for k, b in scratch.buffers.items()} == pointers
