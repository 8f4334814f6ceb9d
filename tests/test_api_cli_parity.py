"""One request, one fit: ``inrzip compress SOURCE`` and ``inrzip.compress(SOURCE)`` resolve the same defaults
(``api.resolve``) and write files with the same header, for every signal kind; the command line's flags are
generated from the config fields, so none can be missing."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

import inrzip
from inrzip.cli import build_parser, main
from inrzip.cli.flags import flag_name
from inrzip.config import CompressConfig, FitConfig, option_fields

DATA = Path(__file__).resolve().parent / "data"
FAST = {"epochs": 2, "batch_size": 512}  # the same short fit both ways; everything else is the kind's default
SOURCES = {
    "image": (DATA / "kodim23_64.png", {}),
    "occupancy": (DATA / "bunny_decimated_5k_instantngp.obj", {"resolution": 16}),
    "radiance": (DATA / "nerf" / "blender_lego_tiny", {"size": 16, "samples": 8}),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_cli_and_python_give_the_same_header_and_settings(kind, tmp_path, capsys):
    if kind == "occupancy":
        pytest.importorskip("trimesh")
    source, options = SOURCES[kind]
    out = tmp_path / "cli.inr"
    flags = [f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')}={v}" for k, v in
             {**FAST, **options}.items()]
    assert main(["compress", str(source), "-o", str(out), "--quiet", "--json", *flags]) == 0
    cli_report = json.loads(capsys.readouterr().out)
    enc = inrzip.encode(inrzip.api.load(source, progress=False, **options), fit=FitConfig(progress=False, **FAST))
    cli_header, py_header = inrzip.info(out.read_bytes()), inrzip.info(enc.data)
    assert cli_header["kind"] == kind
    cli_header.pop("file_bytes"), py_header.pop("file_bytes")
    assert cli_header == py_header
    assert cli_report["config"] == json.loads(json.dumps(enc.report["config"]))  # every resolved setting


def test_resolved_settings_are_equal_from_both_sides(tmp_path):
    """The CLI's request (flags -> CompressConfig) and the same request from Python resolve identically."""
    image = inrzip.api.load(DATA / "kodim23_64.png")
    args = build_parser().parse_args(["compress", "x.png", "-o", "y.inr", "--mlp", "--bits", "6", "--lr", "1e-3",
                                      "--seed", "3", "--quiet"])
    from inrzip.cli.flags import config_from_args

    from_cli = inrzip.resolve(config_from_args(args), image)
    from_py = inrzip.resolve(CompressConfig(parameterization="mlp", bits=6, fit=FitConfig(lr=1e-3, seed=3,
                                                                                          progress=False)), image)
    assert asdict(from_cli) == asdict(from_py)
    assert from_cli.fit.seed == 3 and from_cli.fit.lr == 1e-3 and from_cli.pe is False


def test_every_config_field_has_a_flag_with_help():
    text = build_parser()._subparsers._group_actions[0].choices["compress"].format_help()  # noqa: SLF001
    for owner in (CompressConfig, FitConfig):
        for f in option_fields(owner):
            assert flag_name(f) in text, f"{owner.__name__}.{f.name} has no flag"
            assert f.metadata["help"], f"{owner.__name__}.{f.name} has no documentation"


def test_kind_defaults_pick_the_papers_networks():
    lego = inrzip.api.load(DATA / "nerf" / "blender_lego_tiny", size=16, progress=False)
    nerf = inrzip.resolve(CompressConfig(), lego)
    assert (nerf.arch, nerf.parameterization, nerf.activation, nerf.pe) == ("64x4", "mlp", "relu", False)
    image = inrzip.resolve(CompressConfig(), inrzip.api.load(DATA / "kodim23_64.png"))
    assert (image.arch, image.parameterization, image.pe, image.doh_init) == ("28x9", "doh", True, "siren")
    mlp = inrzip.resolve(CompressConfig(parameterization="mlp"), inrzip.api.load(DATA / "kodim23_64.png"))
    assert mlp.pe is False  # the image MLP has no PE unless asked


def test_seed_is_one_setting_for_init_and_batches():
    image = inrzip.api.load(DATA / "kodim23_64.png")
    a = inrzip.encode(image, arch="8x1", seed=3, epochs=1, progress=False)
    b = inrzip.encode(image, arch="8x1", seed=3, epochs=1, progress=False)
    c = inrzip.encode(image, arch="8x1", seed=4, epochs=1, progress=False)
    assert inrzip.info(a.data)["seed"] == 3 and a.data == b.data and a.data != c.data
