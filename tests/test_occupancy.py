"""Occupancy signal: mesh loading, winding-number ground truth, cache, IoU, marching cubes, errors, end to end.

Uses the 5k-face Stanford bunny (tests/data, open at the bottom: 4 small holes) and, where a watertight
mesh is needed, the shared Armadillo. Grids are 32^3-64^3 so the file runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("igl")

from inrzip.errors import FormatError, InputError  # noqa: E402
from inrzip.limits import Limits
from inrzip.signals import meshio  # noqa: E402
from inrzip.signals.occupancy import OccupancySignal, check_resolution, grid_coords  # noqa: E402

BUNNY = Path(__file__).resolve().parent / "data" / "bunny_decimated_5k_instantngp.obj"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own cache dir: no writes to ~/.cache, no cross-test hits."""
    monkeypatch.setenv("INRZIP_CACHE", str(tmp_path / "cache"))


def lookup_field(signal: OccupancySignal):
    """A 'perfect' field: reads the ground truth at the nearest grid point."""
    grid = torch.from_numpy(signal.grid).float()
    n = signal.n

    def field(x: torch.Tensor) -> torch.Tensor:
        ijk = torch.round((x + 1) * (n - 1) / 2).long().clamp(0, n - 1)
        return grid[ijk[:, 0], ijk[:, 1], ijk[:, 2]][:, None]
    return field


def grid_volume(signal: OccupancySignal) -> float:
    """Occupied points x cell volume, in the source's units^3."""
    cell = 2.0 * signal.norm.scale / (signal.n - 1)
    return float(signal.grid.sum()) * cell ** 3


def test_normalisation_fills_unit_cube_with_margin():
    sig = OccupancySignal.load(BUNNY, resolution=32)
    mesh = trimesh.load(BUNNY, process=True)
    v = sig.norm.forward(mesh.vertices)
    half = np.abs(v).max(axis=0)
    assert half.max() == pytest.approx(1 - sig.margin, abs=1e-6)  # longest axis touches 1 - margin
    np.testing.assert_allclose(sig.norm.inverse(v), mesh.vertices, atol=1e-9)
    meta = sig.meta()
    assert meta["resolution"] == 32 and len(meta["center"]) == 3 and meta["scale"] > 0
    OccupancySignal.validate_meta(meta, Limits(max_resolution=1024))


def test_open_bunny_volume_matches_mesh_volume():
    """The bunny has holes; winding numbers still give its volume (trimesh's signed volume) within 3%."""
    sig = OccupancySignal.load(BUNNY, resolution=64)
    mesh = trimesh.load(BUNNY, process=True)
    assert not mesh.is_watertight
    assert grid_volume(sig) == pytest.approx(abs(mesh.volume), rel=0.03)


def test_watertight_volume_matches(shared_data):
    path = shared_data / "meshes" / "armadillo_decimated_100k_instantngp.obj"
    mesh = trimesh.load(path, process=True)
    assert mesh.is_watertight
    sig = OccupancySignal.load(path, resolution=64)
    assert grid_volume(sig) == pytest.approx(mesh.volume, rel=0.04)
    assert not sig.grid[[0, -1]].any() and not sig.grid[:, [0, -1]].any()  # the margin keeps the border empty


def test_inside_out_mesh_gives_same_grid(tmp_path):
    mesh = trimesh.load(BUNNY, process=True)
    mesh.invert()
    mesh.export(tmp_path / "inverted.ply")
    a = OccupancySignal.load(BUNNY, resolution=32).grid
    b = OccupancySignal.load(tmp_path / "inverted.ply", resolution=32).grid
    assert (a != b).mean() < 1e-3


def test_cache_hit_returns_identical_grid(tmp_path, monkeypatch):
    first = OccupancySignal.load(BUNNY, resolution=40)
    files = list((tmp_path / "cache" / "occupancy").glob("*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as z:  # packed bits, no pickle
        assert z["bits"].dtype == np.uint8 and z["bits"].size == (40 ** 3 + 7) // 8

    def boom(*a, **k):
        raise AssertionError("cache miss: ground truth recomputed")
    monkeypatch.setattr(meshio, "winding_occupancy", boom)
    second = OccupancySignal.load(BUNNY, resolution=40)
    np.testing.assert_array_equal(first.grid, second.grid)
    with pytest.raises(AssertionError, match="cache miss"):  # another resolution or margin is another key
        OccupancySignal.load(BUNNY, resolution=40, margin=0.1)


def test_corrupt_cache_is_recomputed(tmp_path):
    first = OccupancySignal.load(BUNNY, resolution=32)
    (f,) = (tmp_path / "cache" / "occupancy").glob("*.npz")
    f.write_bytes(b"garbage")
    np.testing.assert_array_equal(OccupancySignal.load(BUNNY, resolution=32).grid, first.grid)


def test_batches_cover_grid_once_with_binary_targets():
    sig = OccupancySignal.load(BUNNY, resolution=16)
    seen = []
    for x, y in sig.batches(1000, torch.Generator().manual_seed(0), torch.device("cpu")):
        assert x.shape[1] == 3 and y.shape[1] == 1 and set(y.unique().tolist()) <= {0.0, 1.0}
        idx = torch.round((x + 1) * 15 / 2).long()
        np.testing.assert_array_equal(sig.grid[idx[:, 0], idx[:, 1], idx[:, 2]], y[:, 0].bool().numpy())
        seen.append(idx[:, 0] * 256 + idx[:, 1] * 16 + idx[:, 2])
    assert sorted(torch.cat(seen).tolist()) == list(range(16 ** 3))
    np.testing.assert_array_equal(grid_coords(torch.arange(16 ** 3), 16).numpy(),
                                  meshio.index_to_coords(np.arange(16 ** 3), 16))


def test_iou_of_perfect_and_empty_fields():
    sig = OccupancySignal.load(BUNNY, resolution=32)
    assert sig.evaluate(lookup_field(sig)) == {"iou": 1.0}
    assert sig.evaluate(lambda x: torch.zeros(len(x), 1))["iou"] == 0.0


def test_reconstruct_any_resolution_and_npy(tmp_path):
    sig = OccupancySignal.load(BUNNY, resolution=32)
    field = lookup_field(sig)
    np.testing.assert_array_equal(OccupancySignal.reconstruct(sig.meta(), field), sig.grid)
    fine = OccupancySignal.reconstruct(sig.meta(), field, resolution=63)  # 63 = 2*32-1: every other point is a 32-point
    assert fine.shape == (63, 63, 63) and fine.dtype == bool
    np.testing.assert_array_equal(fine[::2, ::2, ::2], sig.grid)
    OccupancySignal.save(fine, tmp_path / "grid.npy", sig.meta())
    np.testing.assert_array_equal(np.load(tmp_path / "grid.npy", allow_pickle=False), fine)


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".stl"])
def test_marching_cubes_is_watertight_in_source_frame(tmp_path, suffix):
    sig = OccupancySignal.load(BUNNY, resolution=48)
    out = tmp_path / f"bunny{suffix}"
    OccupancySignal.save(sig.grid, out, sig.meta())
    decoded = trimesh.load(out, process=True)
    source = trimesh.load(BUNNY, process=True)
    voxel = 2 * sig.norm.scale / (sig.n - 1)
    assert decoded.is_watertight and decoded.volume > 0  # closed, normals outward
    np.testing.assert_allclose(decoded.bounds, source.bounds, atol=voxel)
    assert decoded.volume == pytest.approx(abs(source.volume), rel=0.1)


@pytest.mark.parametrize("content,match", [
    (b"", "no triangles"),
    (b"hello\nnot a mesh\n", "no triangles"),
])
def test_empty_or_text_obj_is_refused(tmp_path, content, match):
    p = tmp_path / "bad.obj"
    p.write_bytes(content)
    with pytest.raises(InputError, match=match):
        OccupancySignal.load(p, resolution=16)


def test_point_cloud_and_garbage_are_refused(tmp_path):
    trimesh.PointCloud(np.random.default_rng(0).random((50, 3))).export(tmp_path / "cloud.ply")
    with pytest.raises(InputError, match="point cloud without faces"):
        OccupancySignal.load(tmp_path / "cloud.ply", resolution=16)
    (tmp_path / "noise.ply").write_bytes(np.random.default_rng(1).bytes(2000))
    with pytest.raises(InputError, match="not a readable PLY mesh"):
        OccupancySignal.load(tmp_path / "noise.ply", resolution=16)


def test_flat_sheet_has_no_volume(tmp_path):
    trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], [[0, 1, 2], [1, 3, 2]]).export(tmp_path / "sheet.obj")
    with pytest.raises(InputError, match="encloses no volume"):
        OccupancySignal.load(tmp_path / "sheet.obj", resolution=16)


@pytest.mark.parametrize("bad", [0, -5, 4, 2048, 1.5, "128", True])
def test_absurd_resolution_is_refused(bad):
    with pytest.raises(InputError, match="resolution"):
        OccupancySignal.load(BUNNY, resolution=bad)
    assert check_resolution(2048, force=True) == 2048  # the cap is a guard, not a wall


def test_bad_output_suffix_and_bad_header():
    sig = OccupancySignal.load(BUNNY, resolution=16)
    with pytest.raises(InputError, match="cannot write occupancy"):
        OccupancySignal.save(sig.grid, Path("x.png"), sig.meta())
    with pytest.raises(InputError, match="resolution"):
        OccupancySignal.reconstruct(sig.meta(), lookup_field(sig), resolution=4096)
    for broken in ({"resolution": 5000}, {"center": [0.0, 0.0]}, {"scale": -1.0}, {"scale": float("nan")}):
        with pytest.raises(FormatError):
            OccupancySignal.validate_meta({**sig.meta(), **broken}, Limits(max_resolution=1024))


# ---- end to end: fit, file, decode (core trainer, container and CLI) ---------------------------------------

def test_compress_decode_bunny_to_watertight_ply(tmp_path, capsys):
    from inrzip.api import CompressConfig, decode, encode
    from inrzip.cli import main
    from inrzip.config import FitConfig

    cfg = CompressConfig(arch="16x2", parameterization="mlp", pe=True, bits=8,
                         fit=FitConfig(epochs=10, batch_size=4096, lr=1e-3, progress=False, engine="fast"))
    enc = encode(BUNNY, cfg, signal_options={"resolution": 32})
    assert enc.report["signal"] == "occupancy" and enc.report["iou"] > 0.7  # 0.89 measured
    assert enc.report["file_bytes"] < 2500  # 1585 values x 8 bits + header
    inr = tmp_path / "bunny.inr"
    enc.save(inr)

    header, grid = decode(inr.read_bytes())
    assert grid.shape == (32, 32, 32) and grid.dtype == bool
    truth = OccupancySignal.load(BUNNY, resolution=32)
    assert truth.compare(grid)["iou"] == pytest.approx(enc.report["iou"])  # the encoder reports what decodes

    assert main(["decompress", str(inr), "-o", str(tmp_path / "bunny.ply")]) == 0
    mesh = trimesh.load(tmp_path / "bunny.ply", process=True)
    assert mesh.is_watertight
    source = trimesh.load(BUNNY, process=True)
    voxel = 2 * truth.norm.scale / 31
    # a lossy fit (IoU ~0.9) may add or lose a voxel blob, but it sits in the source's frame and units
    np.testing.assert_allclose(mesh.center_mass, source.center_mass, atol=2 * voxel)
    assert mesh.volume == pytest.approx(abs(source.volume), rel=0.25)
    assert main(["info", str(inr)]) == 0
    assert "occupancy" in capsys.readouterr().out


def test_cli_refuses_point_cloud_with_one_line(tmp_path, capsys):
    from inrzip.cli import main

    trimesh.PointCloud(np.random.default_rng(0).random((50, 3))).export(tmp_path / "cloud.ply")
    assert main(["compress", str(tmp_path / "cloud.ply"), "-o", str(tmp_path / "x.inr")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "point cloud without faces" in err


def test_table2_command_writes_csv_and_markdown(tmp_path):
    import csv

    from inrzip.experiments.occupancy_table import MODELS, Settings, run

    assert [MODELS[m].latent_dim() for m in ("DOH (30%)", "DOH (60%)", "DOH (100%)")] == [4240, 8480, 14560]
    s = Settings(shapes=("bunny",), models=("MLP+PE (4,20)", "DOH (30%)"), resolution=16, bits=(6, 8), epochs=1,
                 time_budget=None, batch_size=4096, engine="fast", data_dir=str(BUNNY.parent))
    run(s, tmp_path, log=lambda m: None)
    rows = list(csv.DictReader(open(tmp_path / "table2.csv")))
    assert [(r["model"], r["bits"], r["params"]) for r in rows] == [
        ("MLP+PE (4,20)", "6", "2981"), ("MLP+PE (4,20)", "8", "2981"), ("DOH (30%)", "6", "4641"), ("DOH (30%)", "8", "4641")]
    assert all(0.0 <= float(r["iou"]) <= 1.0 and float(r["file_kB"]) > 0 for r in rows)
    assert float(rows[1]["est_kB"]) == pytest.approx(2.981)  # params x bits / 8000, as the paper counts
    md = (tmp_path / "table2.md").read_text()
    assert "| 8 | DOH (30%) | 4641 | 4.64 |" in md and "Thai Statue: not available" in md


def test_table2_models_and_the_doh_optimizer_setting():
    """Table 2's eleven rows with the paper's parameter counts; ``doh_optimizer`` reaches D'OH's fits only."""
    from inrzip.experiments.occupancy_table import DEFAULT_MODELS, MODELS, PAPER_IOU, Settings, compress_config
    from inrzip.nets.networks import NetworkSpec, parse_arch, weight_count

    assert len(DEFAULT_MODELS) == 11 and set(DEFAULT_MODELS) == set(PAPER_IOU)
    for name in DEFAULT_MODELS:
        m = MODELS[name]
        if m.parameterization == "mlp":  # weights + biases of the network the row names
            width, hidden = parse_arch(m.arch)
            spec = NetworkSpec(3, 1, width, hidden, pe_freqs=10 if m.pe else 0)
            assert weight_count(spec) + width * (hidden + 1) + 1 == PAPER_IOU[name][0], name
    s = Settings(doh_optimizer="adam-weights", lr_doh_weights=2e-4)
    doh, mlp = compress_config(MODELS["DOH (60%)"], s), compress_config(MODELS["MLP+PE (4,30)"], s)
    assert (doh.fit.optimizer, doh.fit.lr) == ("adam-weights", 2e-4)
    assert (mlp.fit.optimizer, mlp.fit.lr) == ("adam", s.lr_mlp)
    latent = compress_config(MODELS["DOH (60%)"], Settings(doh_optimizer="adam", lr_doh_latent=0))
    assert latent.fit.optimizer == "adam" and latent.fit.lr == Settings().lr_doh


def test_table2_scores_each_file_on_finer_grids_and_saves_it(tmp_path):
    """``--eval-resolutions``: the same file decoded on another grid, against that grid's ground truth."""
    import csv

    import inrzip
    from inrzip.experiments.occupancy_table import Settings, run

    s = Settings(shapes=("bunny",), models=("MLP+PE (4,20)",), resolution=16, bits=(8,), epochs=2, time_budget=None,
                 batch_size=4096, engine="fast", data_dir=str(BUNNY.parent), eval_resolutions=(16, 24),
                 save_files=True)
    run(s, tmp_path, log=lambda m: None)
    [row] = list(csv.DictReader(open(tmp_path / "table2.csv")))
    data = (tmp_path / "bunny_mlp_pe__4_20_8bit.inr").read_bytes()
    truth = OccupancySignal.load(BUNNY, resolution=24).grid
    decoded = inrzip.decompress(data, resolution=24)
    inter, union = np.logical_and(decoded, truth).sum(), np.logical_or(decoded, truth).sum()
    assert float(row["iou_24"]) == pytest.approx(inter / union, abs=1e-4)
    assert "iou_16" not in row  # the training grid is the iou column itself
    assert float(row["iou"]) == pytest.approx(OccupancySignal.load(BUNNY, resolution=16).compare(
        inrzip.decompress(data))["iou"], abs=1e-4)


def test_cli_compresses_a_new_shape_with_the_kinds_defaults(tmp_path, capsys):
    """A shape no other test uses (a torus written as STL), the issue's flags, decoded at two resolutions."""
    import json

    import inrzip
    from inrzip.cli import main

    src = tmp_path / "torus.stl"
    trimesh.creation.torus(major_radius=1.0, minor_radius=0.35).export(src)
    inr = tmp_path / "torus.inr"
    assert main(["compress", str(src), "-o", str(inr), "--arch", "16x2", "--latent", "0.6", "--bits", "8",
                 "--resolution", "24", "--epochs", "60", "--batch-size", "1024", "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["signal"] == "occupancy" and report["epochs"] == 60
    assert report["iou"] > 0.9  # 1.0000 measured: a torus at 24^3 is easy
    assert report["file_bytes"] == inr.stat().st_size
    header = inrzip.info(inr.read_bytes())
    assert header["resolution"] == 24 and header["doh_init"] == "siren"  # the occupancy kind's D'OH init
    assert main(["decompress", str(inr), "-o", str(tmp_path / "t.npy"), "--resolution", "40"]) == 0
    assert np.load(tmp_path / "t.npy").shape == (40, 40, 40)
    assert main(["decompress", str(inr), "-o", str(tmp_path / "t.ply")]) == 0
    assert trimesh.load(tmp_path / "t.ply").is_watertight


def test_python_api_takes_the_kinds_fit_defaults():
    """From Python too, a mesh is fitted with batch 20000 and a 10-minute cap unless told otherwise."""
    from inrzip.api import CompressConfig, resolve
    from inrzip.config import FitConfig

    sig = OccupancySignal.load(BUNNY, resolution=16)
    cfg = resolve(CompressConfig(), sig).fit
    assert (cfg.batch_size, cfg.epochs, cfg.time_budget, cfg.gamma) == (20000, 250, 600.0, 0.999)
    mine = resolve(CompressConfig(fit=FitConfig(batch_size=512, epochs=3, gamma=0.9)), sig).fit
    assert (mine.batch_size, mine.epochs, mine.gamma) == (512, 3, 0.9)  # a caller's own settings stay as given
    assert mine.time_budget == 600.0  # and the kind fills in the ones not given


def test_oversized_mesh_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "huge.obj"
    with open(big, "wb") as fh:  # sparse: no disk used, but the size a hostile file would claim
        fh.truncate(meshio.MAX_MESH_BYTES + 1)
    with pytest.raises(InputError, match="limit for a mesh file"):
        meshio.load_mesh(big)
