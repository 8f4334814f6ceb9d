"""Residual coding against the seeded random init: ``--residual`` without ``--init`` (nets/inits.seeded_init)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_header_refused

import inrzip
from inrzip.bitstream.container import read_inr, write_inr
from inrzip.config import CompressConfig, FitConfig
from inrzip.nets.inits import seeded_init
from inrzip.nets.networks import NetworkSpec, init_bounds, layer_shapes
from inrzip.nets.rng import symmetric_uniform

DATA = Path(__file__).resolve().parent / "data"
SPEC = NetworkSpec(2, 3, 16, 2)


def test_seeded_init_is_the_portable_stream_within_sirens_bounds() -> None:
    a = seeded_init(SPEC, 5)
    assert all(torch.equal(a[k], v) for k, v in seeded_init(SPEC, 5).items())
    assert not torch.equal(a["w1"], seeded_init(SPEC, 6)["w1"])
    for k, ((o, i), bound) in enumerate(zip(layer_shapes(SPEC), init_bounds(SPEC, "siren"))):
        w, b = a[f"w{k}"], a[f"b{k}"]
        assert w.shape == (o, i) and w.dtype == b.dtype == torch.float32
        assert 0.8 * bound < float(w.abs().max()) <= bound  # fills U(-bound, bound), as SIREN's init
        assert float(b.abs().max()) <= 1 / math.sqrt(i)
    # the definition, not just self-consistency: NumPy's float64 stream, rounded to float32
    ref = symmetric_uniform(5, (1 << 40) + 2, layer_shapes(SPEC)[1], init_bounds(SPEC, "siren")[1])
    assert np.array_equal(a["w1"].numpy(), ref.astype(np.float32))


def _seeded_file(bits: int = 6, seed: int = 3) -> tuple[bytes, dict, inrzip.api.Fitted]:
    cfg = CompressConfig(arch="12x2", parameterization="mlp", pe=False, residual=True, bits=bits,
                         fit=FitConfig(epochs=3, batch_size=1024, progress=False, seed=seed))
    fitted = inrzip.api.train(inrzip.api.load(DATA / "kodim23_64.png"), cfg)
    enc = inrzip.api.write(fitted)
    return enc.data, enc.report, fitted


def test_a_seeded_residual_file_names_its_seed_and_decodes_with_the_init_added_back() -> None:
    from inrzip.api import decoded_layers

    data, report, fitted = _seeded_file()
    assert inrzip.info(data)["res_seed"] == 3 and "res_init" not in inrzip.info(data)
    init = seeded_init(fitted.spec, 3)
    stored = {k: v.detach() for k, v in fitted.param.stored().items()}
    assert float(stored["w0"].abs().max()) < 0.25 * float(init["w0"].abs().max())  # offsets, not weights
    for k, (w, _) in enumerate(decoded_layers(data)):  # decoded = init + dequantized offsets
        step = float(stored[f"w{k}"].abs().max()) / 2 ** 4
        assert torch.allclose(w, init[f"w{k}"] + stored[f"w{k}"], atol=step + 1e-7)
    _, out = inrzip.decode(data, progress=False)
    assert abs(fitted.signal.compare(np.asarray(out))["psnr"] - report["psnr"]) < 1e-9


def test_offsets_from_the_seeded_init_make_a_better_low_bit_file() -> None:
    """The reason it exists: at 6 bits the same fit stored as offsets loses far less than as weights (the first
    layer of a SIREN moves a few percent from its init, and its phase error is what low depths cost)."""
    cfg = dict(arch="16x3", parameterization="mlp", pe=False, bits=5, finetune=0.0,
               fit=FitConfig(epochs=40, batch_size=1024, progress=False))
    image = inrzip.api.load(DATA / "kodim23_64.png")
    plain = inrzip.api.train(image, CompressConfig(residual=False, **cfg))
    seeded = inrzip.api.train(image, CompressConfig(residual=True, **cfg))
    p, s = inrzip.api.write(plain).report, inrzip.api.write(seeded).report
    assert p["float_psnr"] > 24 and s["float_psnr"] > 24  # both fits trained
    assert s["psnr"] > p["psnr"] + 2.0


@pytest.mark.parametrize("fields,match", [
    ({"res_seed": -1}, "must be a seed"),
    ({"res_seed": 1 << 63}, "must be a seed|exceeds the limit"),
    ({"res_seed": "3"}, "must be a seed"),
    ({"res_seed": True}, "must be a seed"),
    ({"res_seed": 3.0}, "must be a seed"),
    ({"res_init": "siren-28x9-div2k"}, "without res_init"),
])
def test_a_hostile_seed_is_a_one_line_format_error(fields: dict, match: str) -> None:
    assert_header_refused(_seeded_file()[0], fields, match)


def test_another_seed_decodes_to_another_image() -> None:
    """The seed is part of the signal: a file given another seed decodes, but not to the same pixels."""
    data, _, _ = _seeded_file()
    h, records = read_inr(data)
    _, good = inrzip.decode(data, progress=False)
    _, other = inrzip.decode(write_inr({**h, "res_seed": 4}, records), progress=False)
    assert not np.array_equal(np.asarray(good), np.asarray(other))


def test_a_doh_file_stores_its_latent_and_biases_as_offsets() -> None:
    """D'OH: the latent and the biases are offsets from their seeded init; the weights are still B (z0 + offset)."""
    from inrzip.api import decoded_layers

    cfg = CompressConfig(arch="12x2", parameterization="doh", residual=True, bits=6,
                         fit=FitConfig(epochs=3, batch_size=1024, progress=False, seed=2))
    fitted = inrzip.api.train(inrzip.api.load(DATA / "kodim23_64.png"), cfg)
    enc = inrzip.api.write(fitted)
    assert inrzip.info(enc.data)["res_seed"] == 2
    init = seeded_init(fitted.spec, 2, fitted.param.latent)
    assert set(init) == set(fitted.param.stored()) and float(init["z"].abs().max()) <= 1 / fitted.param.latent
    z = fitted.param.with_base({"z": fitted.param.z})["z"].detach()
    layers = decoded_layers(enc.data)
    assert torch.allclose(layers[0][0].flatten(), (fitted.param.B @ z)[:layers[0][0].numel()], atol=2e-3)
    _, out = inrzip.decode(enc.data, progress=False)
    assert abs(fitted.signal.compare(np.asarray(out))["psnr"] - enc.report["psnr"]) < 1e-9
    assert_header_refused(enc.data, {"res_seed": -2}, "must be a seed")


def test_residual_is_for_one_network(data_dir: Path) -> None:
    lego = inrzip.api.load(data_dir / "nerf" / "blender_lego_tiny", size=16, samples=8, fine=4, networks=2)
    with pytest.raises(inrzip.errors.InputError, match="--residual applies to the MLP and D'OH"):
        inrzip.api.prepare(lego, CompressConfig(arch="16x1", residual=True))


@pytest.mark.parametrize("request_, expected", [
    (dict(parameterization="mlp"), True),  # an image MLP on raw coordinates: offsets by default
    (dict(parameterization="mlp", pe=True), False),  # with an encoding they were level (docs/rate.md)
    (dict(parameterization="mlp", residual=False), False),
    (dict(parameterization="mlp", preset="paper"), False),  # the papers store the weights
    (dict(parameterization="mlp", init="siren-28x9-div2k"), False),  # a shipped init: offsets only if asked
    (dict(parameterization="doh"), False),  # D'OH at its default 8 bits: level, so its values
    (dict(), False),  # images default to D'OH at 8 bits
    (dict(parameterization="doh", bits=7), True),  # at 7 bits and fewer its latent's and biases' offsets
    (dict(bits=4), True),
    (dict(bits=6, preset="paper"), False),
])
def test_which_files_store_offsets_by_default(request_: dict, expected: bool) -> None:
    image = inrzip.api.load(DATA / "kodim23_64.png")
    assert inrzip.api.resolve(CompressConfig(**request_), image).residual is expected


@pytest.mark.parametrize("request_, expected", [
    (dict(), True),  # meshes default to D'OH at 8 bits: its offsets (better and smaller there, unlike images)
    (dict(bits=5), True),
    (dict(bits=10), False),  # deeper than measured: the values
    (dict(residual=False), False),
    (dict(parameterization="mlp"), True),  # a mesh MLP (raw coordinates by default) too
    (dict(parameterization="mlp", pe=True), False),  # with an encoding: not measured on meshes, level on images
])
def test_which_mesh_files_store_offsets_by_default(data_dir: Path, request_: dict, expected: bool) -> None:
    mesh = inrzip.api.load(data_dir / "bunny_decimated_5k_instantngp.obj", resolution=16)
    assert inrzip.api.resolve(CompressConfig(**request_), mesh).residual is expected


def test_a_mesh_file_of_offsets_decodes_to_its_reported_iou(data_dir: Path) -> None:
    mesh = inrzip.api.load(data_dir / "bunny_decimated_5k_instantngp.obj", resolution=16)
    cfg = CompressConfig(arch="12x2", bits=6, fit=FitConfig(epochs=3, progress=False, seed=4))
    enc = inrzip.api.write(inrzip.api.train(mesh, cfg))
    assert inrzip.info(enc.data)["res_seed"] == 4 and enc.report["config"]["residual"] is True
    _, grid = inrzip.decode(enc.data, progress=False)
    assert abs(mesh.compare(np.asarray(grid))["iou"] - enc.report["iou"]) < 1e-12
    no_offsets = inrzip.api.write(inrzip.api.train(mesh, replace(cfg, residual=False)))
    assert "res_seed" not in inrzip.info(no_offsets.data)
