"""``python -m inrzip.experiments``: the registry lists every experiment of issue 14, and ``--quick`` runs write
a CSV, a JSON of the configuration and a PNG (about 35 s for all of them on one core)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from conftest import require_shared

from inrzip.experiments.__main__ import main
from inrzip.experiments.runner import load_all, run_experiment

REQUIRED = ("doh-div2k", "doh-kodak-archs", "doh-init-variance", "pe-ablation", "occupancy-table2", "occupancy-rd",
            "figures-kodak", "figures-meshes", "nerf-blender", "nerf-llff", "quant-activations", "quant-ssim",
            "quant-qat", "quant-dictionary", "quant-convergence")
# experiment -> the ../shared/data folder its --quick needs ("" = only the repo's tests/data)
DATA = {"doh-div2k": "div2k", "doh-kodak-archs": "kodak", "pe-ablation": "kodak", "figures-kodak": "kodak",
        "quant-activations": "cifar10", "quant-ssim": "cifar10", "quant-qat": "cifar10",
        "quant-dictionary": "cifar10", "quant-convergence": "div2k"}


def test_list_names_every_required_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(REQUIRED) <= listed
    assert set(load_all()) == listed


def test_unknown_experiment_and_bad_option_are_one_line_errors(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-experiment", "--out", str(tmp_path)]) == 2
    assert "no-such-experiment" in capsys.readouterr().err
    assert main(["doh-init-variance", "--quick", "--out", str(tmp_path), "--no-such-flag"]) == 2
    assert "--no-such-flag" in capsys.readouterr().err


def _outputs(out: Path) -> list[dict[str, str]]:
    """The run's CSV rows, once a CSV, a configuration JSON and a non-empty PNG are there."""
    csvs = sorted(out.glob("*.csv"))
    configs = [p for p in out.glob("*.json") if p.name != "run.json"]
    pngs = sorted(out.glob("*.png"))
    assert csvs and configs and pngs, sorted(p.name for p in out.iterdir())
    assert all(p.stat().st_size > 2000 for p in pngs)
    assert all(isinstance(json.loads(p.read_text()), dict) for p in configs)
    assert json.loads((out / "run.json").read_text())["quick"] is True
    with csvs[0].open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    return rows


@pytest.mark.parametrize("name", [n for n in REQUIRED if n != "occupancy-rd"])
def test_quick_writes_csv_json_png(name: str, tmp_path: Path) -> None:
    if DATA.get(name):
        require_shared(DATA[name])
    out = run_experiment(name, quick=True, out=tmp_path / name)
    _outputs(out)


def test_occupancy_rd_quick_on_an_unseen_mesh(tmp_path: Path) -> None:
    """Fig. 6 on a mesh made here (a torus written as STL): IoU and kB per architecture and bit depth."""
    trimesh = pytest.importorskip("trimesh")
    mesh = tmp_path / "torus.stl"
    trimesh.creation.torus(major_radius=1.0, minor_radius=0.3).export(mesh)
    out = tmp_path / "rd"
    assert main(["occupancy-rd", "--quick", "--mesh", str(mesh), "--out", str(out)]) == 0
    rows = _outputs(out)
    assert {r["mesh"] for r in rows} == {"torus.stl"}
    cells = {(r["arch"], r["method"], int(r["bits"])) for r in rows}
    assert len(cells) == len(rows) and len({a for a, _, _ in cells}) >= 2 and len({b for _, _, b in cells}) >= 2
    for r in rows:
        assert 0.0 <= float(r["iou"]) <= 1.0 and float(r["kB"]) > 0
    by = {(r["arch"], r["method"], int(r["bits"])): float(r["kB"]) for r in rows}
    assert all(by[(a, m, 8)] > by[(a, m, 4)] for a, m, _ in cells)  # more bits, a larger real file
    assert max(float(r["iou"]) for r in rows) > 0.3  # some network learnt the torus in the quick budget
    assert all(math.isfinite(float(r["est_kB"])) for r in rows)


def test_image_protocol_in_parallel_gives_the_same_rows(tmp_path: Path) -> None:
    """``--jobs 2`` runs the fits in two processes; the rows (epoch-budgeted, so deterministic) and their order are
    those of the serial run."""
    require_shared("div2k")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert main(["doh-div2k", "--quick", "--out", str(serial)]) == 0
    assert main(["doh-div2k", "--quick", "--jobs", "2", "--out", str(parallel)]) == 0
    a, b = _outputs(serial), _outputs(parallel)
    keys = ("image", "arch", "method", "bits", "psnr", "bpp", "file_bytes")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    assert len({(r["arch"], r["method"]) for r in a}) >= 4


def test_pe_ablation_runs_the_papers_recipe_when_asked(tmp_path: Path) -> None:
    """Fig. 3a with ``--preset paper``: the fits use Table 1's recipe (the cause of the PE gap is the recipe or not)."""
    import numpy as np

    from inrzip.api import resolve
    from inrzip.experiments.image_common import METHODS, Budget
    from inrzip.signals.image import ImageSignal

    signal = ImageSignal(np.zeros((8, 8, 3), np.uint8), 8)
    budget = Budget(epochs=None, seconds=None, preset="paper")
    fit = resolve(METHODS["mlp"].config("8x2", budget.fit(), None, budget.preset), signal).fit
    assert (fit.epochs, fit.batch_size, fit.lr, fit.loss, fit.gamma) == (2000, 1024, 2e-4, "mse", 0.999)
    ours = resolve(METHODS["mlp"].config("8x2", Budget().fit(), None), signal).fit
    assert (ours.epochs, ours.lr) != (2000, 2e-4)
    require_shared("kodak")
    out = tmp_path / "pa"
    assert main(["pe-ablation", "--quick", "--preset", "paper", "--epochs", "2", "--crop", "16",
                 "--variants", "mlp", "mlp+pe-octave", "--out", str(out)]) == 0
    rows = _outputs(out)
    assert {r["method"] for r in rows} == {"mlp", "mlp+pe-octave"}
    assert {int(r["epochs"]) for r in rows} == {2}
    assert json.loads((out / "pe-ablation.json").read_text())["budget"]["preset"] == "paper"


def test_mlp_offsets_method_is_inrzips_default_mlp_and_the_papers_is_not() -> None:
    """``mlp-offsets`` compares D'OH with the MLP a user gets from ``inrzip compress --mlp`` (offsets from the
    seeded init, regenerated by the decoder); ``mlp`` stays the papers' baseline that stores its weights."""
    import numpy as np

    from inrzip.api import prepare
    from inrzip.config import CompressConfig
    from inrzip.experiments.image_common import METHODS, Budget
    from inrzip.signals.image import ImageSignal

    signal = ImageSignal(np.zeros((8, 8, 3), np.uint8), 8)
    offsets = prepare(signal, METHODS["mlp-offsets"].config("8x2", Budget().fit(), None)).config
    paper = prepare(signal, METHODS["mlp"].config("8x2", Budget().fit(), None)).config
    default = prepare(signal, CompressConfig(arch="8x2", parameterization="mlp")).config
    assert offsets.residual and not paper.residual and default.residual == offsets.residual
