"""A file at a fixed depth: the last share of the fit trains the stored tensors (a D'OH latent, an MLP's weights at 8
bits or fewer) against the levels its file stores (``api.encoding._depth_finetuned``; docs/fitting.md, "D'OH's
latent at its file's levels", "An MLP's weights at its file's levels")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inrzip import finetune
from inrzip.api import CompressConfig, FitConfig, decode, encode, encode_bits, load, resolve, train
from inrzip.api.encoding import UNUSED_FINETUNE, _depth_finetuned, _shortened, depth_share
from inrzip.errors import InrzipError
from inrzip.metrics import psnr
from inrzip.quant import Distributional, FixedGrid, get_quantizer

NOTE = "fine-tuning the latent"


@pytest.fixture
def image(data_dir):
    return load(data_dir / "kodim23_64.png")


def _doh(**fields) -> CompressConfig:
    fit = FitConfig(epochs=fields.pop("epochs", 40), batch_size=1024, progress=False, seed=0)
    return CompressConfig(**{"parameterization": "doh", "arch": "16x3", "bits": 6, "fit": fit, **fields})


def _before_after(report: dict, start: str = NOTE) -> tuple[float, float]:
    note = next(e for e in report["fit_events"] if e.startswith(start))
    before, after = (float(v) for v in note.split(": ")[1].split(" (")[0].split(" -> "))
    return before, after


def test_the_latent_trained_at_its_levels_decodes_better(image):
    """The fine-tuned file beats the same fit rounded to its levels, is the one kept, decodes to what the report
    says, and the fit and its fine-tuning share the epochs asked for."""
    enc = encode(image, _doh(finetune=0.25))
    r = enc.report
    before, after = _before_after(r)
    assert after > before + 0.05, (before, after)
    assert r["psnr"] == pytest.approx(after, abs=0.001)
    assert r["epochs"] == 40 and r["config"]["fit"]["epochs"] == 40
    _, pixels = decode(enc.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(r["psnr"], abs=0.05)


def test_steps_far_below_a_level_move_only_some_codes(image):
    """At ``FINETUNE_LATENT_LR`` of the latent's rate the fine-tuning changes the rounding of a few values (those
    next to a level boundary), not the latent: most codes stay those of plain rounding, and some move."""
    cfg = replace(_doh(finetune=0.25), quantizer="minmax")
    short, whole = _shortened(image, cfg, 0.75)
    fitted = train(image, short)
    z0 = fitted.param.z.detach().numpy().copy()
    grid = FixedGrid(get_quantizer("minmax").quantize(z0, 6))
    codes0 = grid.finalize(z0).codes
    _depth_finetuned(image, fitted, 0.25, whole)
    codes1 = grid.finalize(fitted.param.z.detach().numpy()).codes
    moved = np.count_nonzero(codes1 != codes0)
    assert 0 < moved < 0.2 * codes0.size, (moved, codes0.size)
    assert np.abs(codes1.astype(np.int64) - codes0).max() <= 2  # values cross the nearest boundaries only


def test_an_mlp_trained_at_its_levels_decodes_better(image):
    """An 8-bit MLP without the encoding loses most to rounding (its first layer's phases): the fine-tuned weights
    beat the same fit rounded, the file kept decodes to the report, the epochs add up, and the report says which
    tensors were trained."""
    enc = encode(image, _doh(parameterization="mlp", bits=8, finetune=0.25))
    r = enc.report
    assert any(e.startswith("fine-tuning the weights") for e in r["fit_events"]), r["fit_events"]
    before, after = _before_after(r, "fine-tuning the weights")
    assert after > before + 0.05, (before, after)
    assert r["psnr"] == pytest.approx(after, abs=0.001) and r["epochs"] == 40
    _, pixels = decode(enc.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(r["psnr"], abs=0.05)


@pytest.mark.parametrize("settings", [{"parameterization": "mlp", "bits": 16}, {"parameterization": "mlp", "bits": 9},
                                      {"quantizer": "kmeans"}, {"quantizer": "explicit"}, {"qat": True},
                                      {"target_psnr": 30.0}, {"finetune": 0.0}, {"preset": "paper"}])
def test_only_files_on_ranges_that_end_by_their_budget_are_fine_tuned(image, settings):
    assert finetune.depth_finetune_share(resolve(_doh(**settings), image), image.depth_finetune) == 0.0
    for quantizer in ("minmax", "distributional"):
        doh = resolve(_doh(quantizer=quantizer), image)
        assert finetune.depth_finetune_share(doh, image.depth_finetune) == image.depth_finetune > 0
    assert finetune.depth_finetune_share(resolve(_doh(finetune=0.3), image), image.depth_finetune) == 0.3
    for bits in (2, 8):  # an MLP's weights up to FINETUNE_MLP_BITS
        mlp = resolve(_doh(parameterization="mlp", bits=bits), image)
        assert finetune.depth_finetune_share(mlp, image.depth_finetune) == image.depth_finetune
    assert depth_share(image, _doh(), [6]) == image.depth_finetune and depth_share(image, _doh(), [4, 6]) == 0.0
    image.networks = 2  # a coarse + fine pair (NeRF's): not measured, so not fine-tuned
    assert depth_share(image, _doh(finetune=0.3), [6]) == 0.0


def test_a_doh_file_at_a_rate_is_fine_tuned_on_its_chosen_levels(image):
    """``--bpp`` with D'OH: the latent trains against the levels the rate control chose (each tensor's range kept)
    and the file stays within the rate."""
    budget = 2.0 * 64 * 64 / 8
    enc = encode(image, CompressConfig(bpp=2.0, parameterization="doh", finetune=0.25,
                                       fit=FitConfig(epochs=40, batch_size=1024, progress=False, seed=0)))
    r = enc.report
    note = next(e for e in r["fit_events"] if e.startswith("fine-tuning ") and "at the file's quantization" in e)
    before, after = (float(v) for v in note.split(": ")[1].split(" (")[0].split(" -> "))
    assert after > before and r["psnr"] == pytest.approx(after, abs=0.006), note
    assert "ranges kept" in note and len(enc.data) <= budget and r["epochs"] == 40
    assert r["stored_values"] == encode(image, CompressConfig(bpp=2.0, parameterization="doh", finetune=0.0, fit=FitConfig(
        epochs=1, progress=False))).report["stored_values"]  # planned at 8 bits as without fine-tuning, not 7


def test_several_depths_from_one_fit_are_post_training(image):
    """One fit written at several depths cannot have trained for each one's levels: no fine-tuning, as before; a
    ``--finetune`` asked for where it cannot act is reported, not silently dropped."""
    encs = encode_bits(image, _doh(epochs=6), [4, 6])
    assert all(not any(e.startswith(NOTE) for e in enc.report["fit_events"]) for enc in encs)
    assert [enc.report["epochs"] for enc in encs] == [6, 6]
    assert not any(UNUSED_FINETUNE in enc.report["fit_events"] for enc in encs)  # not asked for: nothing to say
    mlp = encode(image, _doh(epochs=3, parameterization="mlp", bits=16, finetune=0.2))
    assert UNUSED_FINETUNE in mlp.report["fit_events"] and mlp.report["epochs"] == 3


def test_quantizers_say_whether_their_tables_are_ranges():
    x = np.linspace(-1.0, 1.0, 301, dtype=np.float32)
    for name, ranges in [("minmax", True), ("distributional", True), ("explicit", False), ("kmeans", False)]:
        q = get_quantizer(name)
        assert q.ranges is ranges
        if ranges:  # what the fine-tuning's FixedGrid needs
            assert q.quantize(x, 5).params.size == 2
    assert Distributional(levels="quantile").ranges is False


@pytest.mark.parametrize("share", [-0.1, 1.0, float("nan")])
def test_depth_share_must_be_a_fraction(image, share):
    with pytest.raises(InrzipError, match="--finetune"):
        finetune.depth_finetune_share(resolve(_doh(finetune=share), image), image.depth_finetune)


def test_meshes_keep_their_post_training_files(data_dir):
    """The share is the signal kind's: measured for images only, so an occupancy fit is not shortened."""
    mesh = load(data_dir / "bunny_decimated_5k_instantngp.obj", resolution=16)
    assert mesh.depth_finetune == 0.0
    assert depth_share(mesh, CompressConfig(parameterization="doh"), [8]) == 0.0
    assert depth_share(mesh, CompressConfig(parameterization="doh", finetune=0.1), [8]) == 0.1  # when asked for


@pytest.mark.parametrize("budget", [None, 1000.0])
def test_epochs_with_a_time_budget_are_a_cap_both_stages_share(image, budget):
    """``--epochs 10 --time-budget 1000``: ten epochs in all, fit and fine-tuning (the fine-tuning ran ten more on
    its own share of the clock before)."""
    enc = encode(image, CompressConfig(parameterization="doh", arch="12x2", bits=8,
                                       fit=FitConfig(epochs=10, time_budget=budget, progress=False, seed=0)))
    tuned = next(e for e in enc.report["fit_events"] if e.startswith("fine-tuning the latent"))
    assert enc.report["epochs"] == 10 and tuned.split()[3] == "1", (enc.report["epochs"], tuned)
