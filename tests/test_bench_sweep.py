"""Sweep files expand into content-keyed tasks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inrzip.bench.sweep import codec_tasks, fit_tasks, load_sweep, sweep_tasks
from inrzip.errors import InputError

REPO = Path(__file__).resolve().parents[1]

SWEEP = """
[sweep]
images = "*.png"
[fit]
arch = ["8x1", "10x2"]
bits = [8, 4, 4]
epochs = 5
[[method]]
name = "mlp"
parameterization = "mlp"
[[method]]
name = "doh"
parameterization = "doh"
latent_ratio = [0.25, 0.5, 1.0]
[codecs]
jpeg = [20, 80]
"""


def test_expansion_counts_and_keys(tmp_path, data_dir):
    for name in ("kodim23_64.png", "gray_96x48.png"):
        shutil.copy(data_dir / name, tmp_path / name)
    (tmp_path / "s.toml").write_text(SWEEP)
    tasks = sweep_tasks(load_sweep(tmp_path / "s.toml"), tmp_path)
    fits = [t for t in tasks if t.kind == "fit"]
    assert len(fits) == 2 * 2 * (1 + 3)  # images x archs x (mlp + doh at 3 ratios)
    assert len([t for t in tasks if t.kind == "codec"]) == 2 * 2
    assert len({t.key for t in tasks}) == len(tasks)
    assert all(t.params["bits"] == [4, 8] for t in fits)  # one fit, every bit depth; sorted, deduplicated
    assert {t.params["latent_ratio"] for t in fits if t.method == "doh"} == {0.25, 0.5, 1.0}


def test_key_depends_on_content_and_config_not_on_location(tmp_path, data_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(data_dir / "kodim23_64.png", a / "x.png")
    shutil.copy(data_dir / "kodim23_64.png", b / "x.png")
    method = [{"name": "mlp", "parameterization": "mlp"}]
    ka = fit_tasks([a / "x.png"], method, {"bits": [8], "epochs": 5})[0]
    kb = fit_tasks([b / "x.png"], method, {"bits": [8], "epochs": 5})[0]
    assert ka.key == kb.key and ka.path != kb.path
    assert fit_tasks([a / "x.png"], method, {"bits": [8], "epochs": 6})[0].key != ka.key
    shutil.copy(data_dir / "gray_96x48.png", b / "x.png")  # same name, other content
    assert fit_tasks([b / "x.png"], method, {"bits": [8], "epochs": 5})[0].key != ka.key
    assert json.loads(ka.config)["kind"] == "fit"


def test_bad_sweeps_are_user_errors(tmp_path, data_dir):
    paths = [data_dir / "kodim23_64.png"]
    with pytest.raises(InputError, match="unknown settings"):
        fit_tasks(paths, [{"name": "m", "parameterization": "mlp", "widht": 3}], {"bits": [8]})
    with pytest.raises(InputError, match="bits"):
        fit_tasks(paths, [{"name": "m", "parameterization": "mlp"}], {"bits": [0]})
    with pytest.raises(InputError, match="needs a name"):
        fit_tasks(paths, [{"parameterization": "mlp"}], {"bits": [8]})
    with pytest.raises(InputError, match="unknown codec"):
        codec_tasks(paths, {"jpg": []})
    (tmp_path / "bad.toml").write_text("[sweep\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_sweep(tmp_path / "bad.toml")
    with pytest.raises(InputError, match="no such sweep"):
        load_sweep(tmp_path / "missing.toml")
    (tmp_path / "binary.toml").write_bytes(b"\x89PNG\r\n\x1a\n\xc4\x00")
    with pytest.raises(InputError, match="not a text file"):
        load_sweep(tmp_path / "binary.toml")
    with pytest.raises(InputError, match="cannot read the sweep file"):
        load_sweep(tmp_path)  # a folder


@pytest.mark.parametrize("name", ["kodak-doh.toml", "kodak-cpu-small.toml"])
def test_shipped_sweeps_expand(name, shared_data):
    tasks = sweep_tasks(load_sweep(REPO / "sweeps" / name), shared_data / "kodak")
    assert tasks and len({t.key for t in tasks}) == len(tasks)
    if name == "kodak-doh.toml":  # the paper grid: 24 images x 4 archs x (mlp, mlp+pe, doh x 3 ratios)
        assert len([t for t in tasks if t.kind == "fit"]) == 24 * 4 * 5
        assert all(t.params["bits"] == [4, 5, 6, 8, 16] for t in tasks if t.kind == "fit")


def test_qat_makes_one_fit_per_bit_depth(data_dir):
    method = [{"name": "qat", "parameterization": "mlp", "qat": True, "quantizer": "minmax"}]
    tasks = fit_tasks([data_dir / "kodim23_64.png"], method, {"bits": [4, 8], "epochs": 5})
    assert sorted(t.params["bits"] for t in tasks) == [[4], [8]]


def test_codec_settings_are_part_of_the_key(monkeypatch, data_dir):
    from inrzip.bench.codecs import CODECS

    paths = [data_dir / "kodim23_64.png"]
    before = codec_tasks(paths, {"webp": [50]})[0]
    assert before.params["settings"] == {"method": 6}
    monkeypatch.setattr(CODECS["webp"], "options", {"method": 4})
    assert codec_tasks(paths, {"webp": [50]})[0].key != before.key  # other encoder settings: a new task
