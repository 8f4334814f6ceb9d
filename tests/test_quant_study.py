"""The quantization-study experiments at a tiny size: every combination gets a sane row, plots are written."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SHARED, require_shared

from inrzip.experiments import quant_study as qs
from inrzip.experiments.quant_common import DATA_ROOT, QUANTIZER_ORDER, Budget, load_images, mean_rows


@pytest.fixture(autouse=True)
def _needs_shared_data() -> None:
    require_shared("cifar10")


TINY = Budget(cifar_images=1, div2k_images=1, div2k_crop=16, epochs=4, batch_size=1024, lr=1e-3, bits=(2, 3))
SETTINGS = qs.Settings(cifar_arch="8x1", div2k_archs=("8x1",), qat_bits=(2,), dict_archs=("4x1", "8x1"))


def _read(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _finite(rows: list[dict[str, str]], cols: tuple[str, ...]) -> None:
    for r in rows:
        for c in cols:
            assert math.isfinite(float(r[c])), (c, r)


def _outputs(out: Path, name: str) -> list[dict[str, str]]:
    assert (out / f"{name}.png").stat().st_size > 1000
    assert (out / f"{name}.json").is_file()
    return _read(out / f"{name}.csv")


def test_data_root_is_the_shared_folder() -> None:
    assert DATA_ROOT == SHARED
    (name, sig), = load_images("div2k", TINY)
    assert name == "0801" and sig.pixels.shape == (16, 16, 3)


def test_activations_every_combination(tmp_path: Path) -> None:
    qs.run_activations(TINY, SETTINGS, tmp_path)
    rows = _outputs(tmp_path, "activations")
    combos = {(r["dataset"], r["activation"], r["quantizer"], int(r["bits"])) for r in rows}
    assert len(rows) == len(combos) == 2 * 3 * len(QUANTIZER_ORDER) * 2
    _finite(rows, ("psnr", "ssim", "float_psnr", "file_bytes", "code_bytes"))
    for r in rows:  # the file really holds the codes, and more bits never shrink the codes
        assert int(r["file_bytes"]) > int(r["code_bytes"]) > 0
    by = {(r["dataset"], r["activation"], r["quantizer"], int(r["bits"])): int(r["code_bytes"]) for r in rows}
    assert all(by[k[:3] + (3,)] >= by[k[:3] + (2,)] for k in by)


def test_ssim_and_tensor_sensitivity(tmp_path: Path) -> None:
    qs.run_ssim(TINY, SETTINGS, tmp_path)
    rows = _outputs(tmp_path, "ssim")
    assert len(rows) == 2 * len(QUANTIZER_ORDER) * 2
    _finite(rows, ("psnr", "ssim"))
    assert all(-1.0 <= float(r["ssim"]) <= 1.0 for r in rows)
    sens = _read(tmp_path / "ssim_tensor_sensitivity.csv")
    assert len(sens) == 2 * 2 * 6  # minmax/kmeans x 2 bit depths x 6 tensors of an 8x1 MLP
    _finite(sens, ("psnr",))


def test_qat_methods_and_stored_codebooks(tmp_path: Path) -> None:
    qs.run_qat(TINY, SETTINGS, tmp_path)
    rows = _outputs(tmp_path, "qat")
    assert {(r["dataset"], r["method"]) for r in rows} == {(d, m) for d in ("cifar", "div2k")
                                                            for m in ("ptq", "qat", "qat-warm")}
    _finite(rows, ("psnr", "float_psnr"))
    for r in rows:
        assert int(r["epochs"]) == TINY.epochs  # warm-up + QAT spends the same epochs as the others
        if r["method"] != "ptq":
            _finite([r], ("refit_psnr",))


def test_dictionary_sizes_match_codebook_rule(tmp_path: Path) -> None:
    qs.run_dictionary(TINY, SETTINGS, tmp_path)
    rows = _outputs(tmp_path, "dictionary")
    assert len(rows) == 2 * 2
    for r in rows:  # k-means stores min(2^bits, size) float32 per tensor: the estimate is exact
        assert int(r["dictionary_bytes"]) == int(r["dictionary_estimate_bytes"])
        assert float(r["estimated_bytes"]) == int(r["params"]) * int(r["bits"]) / 8


def test_convergence_inv_mse_sgd_equals_log_loss(tmp_path: Path) -> None:
    qs.run_convergence(TINY, SETTINGS, tmp_path)
    rows = _outputs(tmp_path, "convergence")
    assert len(rows) == len(qs.CONVERGENCE_RUNS) * TINY.epochs
    _finite(rows, ("train_psnr",))
    curve = {run: [float(r["train_psnr"]) for r in rows if r["run"] == run] for run in ("sgd-inv-mse", "sgd-log10mse")}
    assert curve["sgd-inv-mse"] == pytest.approx(curve["sgd-log10mse"], abs=1e-3)  # seed 000, section 1.7
    final = _read(tmp_path / "convergence_final.csv")
    assert {r["run"] for r in final} == {r[0] for r in qs.CONVERGENCE_RUNS}
    assert all(int(r["bits"]) == 16 and r["quantizer"] == "explicit" for r in final)


def test_main_runs_one_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert qs.main(["dictionary", "--epochs", "1", "--bits", "2", "--out", str(tmp_path)]) == 0
    rows = _read(tmp_path / "dictionary.csv")
    assert {r["arch"] for r in rows} == set(qs.Settings().dict_archs)
    assert "dictionary:" in capsys.readouterr().out


def test_the_paper_budget_runs_in_parts(tmp_path: Path) -> None:
    """--cifar-images 0 / --div2k-images 0 leave one data set out (the paper budget run in two sessions)."""
    assert {d for d, *_ in qs._datasets(replace(TINY, cifar_images=0), SETTINGS, ("8x1",))} == {"div2k"}
    assert {d for d, *_ in qs._datasets(replace(TINY, div2k_images=0), SETTINGS, ("8x1",))} == {"cifar"}
    assert qs.main(["ssim", "--epochs", "1", "--bits", "2", "--cifar-images", "1", "--div2k-images", "0",
                    "--out", str(tmp_path)]) == 0
    assert {r["dataset"] for r in _read(tmp_path / "ssim.csv")} == {"cifar"}
    with pytest.raises(SystemExit):
        qs.main(["ssim", "--div2k-images", "4"])


def test_mean_rows_averages_over_images() -> None:
    rows = [{"q": "a", "bits": 2, "psnr": 10.0}, {"q": "a", "bits": 2, "psnr": 20.0}, {"q": "b", "bits": 2, "psnr": 5.0}]
    assert mean_rows(rows, ("q", "bits"), ("psnr",)) == [{"q": "a", "bits": 2, "psnr": 15.0, "n": 2},
                                                          {"q": "b", "bits": 2, "psnr": 5.0, "n": 1}]


def test_headline_differences(tmp_path: Path) -> None:
    from inrzip.experiments.quant_common import write_rows

    ptq = [{"dataset": "cifar", "image": "a", "quantizer": q, "bits": b, "psnr": p}
           for q, p in (("minmax", 10.0), ("kmeans", 12.5)) for b in (2, 3)]
    qat = [{"dataset": "cifar", "image": "a", "method": m, "bits": b, "psnr": p}
           for m, p in (("ptq", 12.5), ("qat", 15.0)) for b in (2, 3)]
    write_rows(ptq, tmp_path / "ssim.csv")
    write_rows(qat, tmp_path / "qat.csv")
    rows = qs.headline(tmp_path)
    assert [(r["bits"], r["kmeans_minus_minmax"], r["qat_minus_ptq"]) for r in rows] == [(2, 2.5, 2.5), (3, 2.5, 2.5)]
    assert (tmp_path / "headline.csv").is_file()


def _no_fits(*_: object, **__: object) -> None:
    raise AssertionError("a fit ran that a previous run had saved")


def test_finished_fits_are_not_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper run killed or split by image keeps its finished fits; a changed recipe does not reuse them."""
    qs.run_activations(TINY, SETTINGS, tmp_path)
    first = _read(tmp_path / "activations.csv")
    with (tmp_path / "activations.parts.jsonl").open("a") as fh:
        fh.write('{"key": "torn by a kil')  # the half line a killed run leaves
    with monkeypatch.context() as m:
        m.setattr(qs, "fit_network", _no_fits)
        qs.run_activations(TINY, SETTINGS, tmp_path)
        assert _read(tmp_path / "activations.csv") == first
        with pytest.raises(AssertionError, match="previous run"):
            qs.run_activations(replace(TINY, epochs=5), SETTINGS, tmp_path)
    qs.run_activations(replace(TINY, epochs=5), SETTINGS, tmp_path)  # appended after the torn line, not onto it
    with monkeypatch.context() as m:
        m.setattr(qs, "fit_network", _no_fits)
        qs.run_activations(replace(TINY, epochs=5), SETTINGS, tmp_path)
    qs.run_qat(TINY, SETTINGS, tmp_path)
    lines = (tmp_path / "qat.parts.jsonl").read_text().splitlines()
    assert len(lines) == 2 * (1 + len(SETTINGS.qat_methods) * len(SETTINGS.qat_bits))  # one line per fit
    with monkeypatch.context() as m:
        m.setattr(qs, "fit_network", _no_fits)
        m.setattr(qs, "continue_fit", _no_fits)
        assert len(qs.run_qat(TINY, SETTINGS, tmp_path)) == 2 * (len(SETTINGS.qat_bits) * 3)


def test_div2k_images_picked_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """One process per DIV2K image into one folder, then one run that assembles them without fitting."""
    require_shared("div2k")
    (name, _), = load_images("div2k", replace(TINY, div2k_pick=("0829",)))
    assert name == "0829"
    one = replace(TINY, cifar_images=0)
    for image in ("0845", "0801"):
        qs.run_activations(replace(one, div2k_pick=(image,)), SETTINGS, tmp_path)
    monkeypatch.setattr(qs, "fit_network", _no_fits)
    rows = qs.run_activations(replace(one, div2k_images=2, div2k_pick=("0801", "0845")), SETTINGS, tmp_path)
    assert {r["image"] for r in rows} == {"0801", "0845"}
    assert qs.main(["activations", "--div2k-pick", "0900", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().out.strip() == "error: unknown DIV2K image '0900'; choose from 0801, 0829, 0845"
