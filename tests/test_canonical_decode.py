"""A decode on a GPU gives the CPU's signal (signals/canonical.py). CI has no GPU, so the device is played by a
network whose outputs are off by up to 6e-6 (an H200's were up to 5.2e-6: docs/benchmarks.md, "GPU session 2"):
without the correction its decode differs from the CPU's in some values; with it, in none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inrzip.bitstream.pipeline import unpack
from inrzip.nets.networks import NetworkField, NetworkSpec
from inrzip.signals import canonical, image, occupancy, radiance
from inrzip.signals.image import ImageSignal
from inrzip.signals.radiance import RadianceSignal

GOLDEN = Path(__file__).resolve().parent / "golden" / "v1"


class OffByUlps:
    """The exact network with every output moved by ``shift`` (relative and absolute): a device's rounding."""

    def __init__(self, exact: NetworkField, shift: float) -> None:
        self.exact, self.shift = exact, shift

    def _off(self, y: torch.Tensor) -> torch.Tensor:
        return y * (1 + self.shift) + self.shift

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        return self._off(self.exact(coords))

    def on_grid(self, axes):
        evaluate = self.exact.on_grid(axes)
        return lambda idx: self._off(evaluate(idx))

    def to(self, device):
        return self.exact.to(device)


def _correcting(monkeypatch, module, on: bool) -> None:
    """Make ``module``'s renderer treat an ``OffByUlps`` field as a device's (correct it against its exact CPU
    copy), or leave it uncorrected (what a GPU decode was before)."""
    monkeypatch.setattr(module, "reference_field", lambda f, d: f.to("cpu") if on and hasattr(f, "exact") else None)


def _decode(kind, name, shift, **options):
    header, spec, layers = unpack((GOLDEN / f"{name}.inr").read_bytes())
    exact = NetworkField(spec, layers)
    options.setdefault("progress", False)
    return kind.reconstruct(header, exact, **options), kind.reconstruct(header, OffByUlps(exact, shift), **options)


@pytest.mark.parametrize("name,scale", [("kodim23_mlp_28x9_minmax16", 1), ("kodim23_mlp_28x9_minmax16", 2),
                                        ("kodim23_doh_28x9_minmax8", 1), ("kodim23_doh_28x9_minmax8", 0.5),
                                        ("image_mlp_pe_bpp_tbits", 1.37), ("gray16_mlp_minmax10", 1)])
def test_images_decode_to_the_cpu_pixels(name, scale, monkeypatch):
    _correcting(monkeypatch, image, False)
    cpu, drift = _decode(ImageSignal, name, 3e-6, scale=scale)
    assert np.count_nonzero(cpu != drift) > 0  # the drift alone moves some values across a rounding boundary
    _correcting(monkeypatch, image, True)
    cpu, fixed = _decode(ImageSignal, name, 3e-6, scale=scale)
    assert fixed.dtype == cpu.dtype and np.array_equal(fixed, cpu)


def _random_field(seed: int) -> NetworkField:
    """A small sine network whose outputs cross the occupancy threshold many times over the cube."""
    torch.manual_seed(seed)
    spec = NetworkSpec(3, 1, 16, 2)
    layers = [(torch.randn(o, i) / i ** 0.5, torch.randn(o) * 0.1) for i, o in [(3, 16), (16, 16), (16, 16), (16, 1)]]
    layers[-1] = (layers[-1][0], torch.tensor([occupancy.THRESHOLD]))
    return NetworkField(spec, layers)


def test_occupancy_decodes_to_the_cpu_grid(monkeypatch):
    net = _random_field(0)
    cpu = occupancy.render_occupancy(net, 64)
    assert 0.05 < cpu.mean() < 0.95  # a surface runs through the grid
    _correcting(monkeypatch, occupancy, False)
    assert np.count_nonzero(occupancy.render_occupancy(OffByUlps(net, 3e-5), 64) != cpu) > 0
    _correcting(monkeypatch, occupancy, True)
    assert np.array_equal(occupancy.render_occupancy(OffByUlps(net, 3e-5), 64), cpu)


def _levels(views: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(views * 255.0), 0, 255).astype(np.uint8)


def test_radiance_views_decode_to_the_cpu_levels(monkeypatch):
    """Views are compared as the 8-bit images a user saves (the golden hashes' definition)."""
    _correcting(monkeypatch, radiance, False)
    cpu, drift = _decode(RadianceSignal, "radiance_mlp_coarse_fine8", 3e-5, scale=2.0)
    assert np.count_nonzero(_levels(cpu) != _levels(drift)) > 0
    _correcting(monkeypatch, radiance, True)
    cpu, fixed = _decode(RadianceSignal, "radiance_mlp_coarse_fine8", 3e-5, scale=2.0)
    assert np.array_equal(_levels(fixed), _levels(cpu))


def test_default_reference_is_the_cpu_copy_of_a_network_off_the_cpu():
    header, spec, layers = unpack((GOLDEN / "image_mlp_minmax8.inr").read_bytes())
    net = NetworkField(spec, layers)
    assert canonical.reference_field(net, "cpu") is None  # nothing to correct on the CPU
    assert canonical.reference_field(lambda x: x, "meta") is None  # a plain callable cannot move
    ref = canonical.reference_field(net, "meta")  # any device other than the CPU
    assert ref is not net and all(w.device.type == "cpu" for w, _ in ref.layers)


def test_near_steps_flags_values_by_their_distance_to_a_rounding_boundary():
    peak = 255
    at_half = torch.tensor([[(10.5 / peak) - 0.5]])  # exactly between levels 10 and 11
    far = torch.tensor([[(10.0 / peak) - 0.5]])
    assert canonical.near_steps(at_half, peak).item() and not canonical.near_steps(far, peak).item()
    assert canonical.near_steps(torch.tensor([[float("nan")]]), peak).item()
