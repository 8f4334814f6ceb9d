"""Fine-tuning at the file's quantization (``--finetune``): after ``--bpp`` has chosen every tensor's bits and
range, the MLP trains on against exactly those levels (``FixedGrid``) and is written on them (docs/rate.md)."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
import torch

from inrzip import finetune
from inrzip.api import CompressConfig, FitConfig, decode, encode, load, prepare, train, write
from inrzip.errors import InrzipError
from inrzip.fit import FitResult, finetune_config, fit_many
from inrzip.fit.schedules import lr_factor
from inrzip.metrics import psnr
from inrzip.quant import Distributional, FixedGrid, QTensor


@pytest.fixture
def image(data_dir):
    return load(data_dir / "kodim23_64.png")


def test_fixed_grid_trains_on_the_levels_the_file_stores():
    x = torch.randn(300, generator=torch.Generator().manual_seed(0))
    table = Distributional(k=2.0).quantize(x.numpy(), 5)
    grid = FixedGrid(table)
    w = x.clone().requires_grad_(True)
    out = grid(w)
    assert torch.equal(out.detach(), torch.from_numpy(Distributional().dequantize(table)))  # what the file decodes
    out.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight through
    again = grid.finalize(x.numpy())
    assert np.array_equal(again.codes, table.codes) and np.array_equal(again.params, table.params)
    moved = grid.finalize(x.numpy() + 100.0)  # the levels stay: values past the range take its last level
    assert np.array_equal(moved.params, table.params) and (moved.codes == 31).all()
    with pytest.raises(InrzipError, match="codebook"):
        FixedGrid(QTensor(np.zeros(3, np.int64), np.arange(8, dtype=np.float32), 3))


def test_finetune_config_starts_under_the_final_rate_and_decays():
    cfg = FitConfig(epochs=100, lr=1e-3, gamma=0.97, warmup_epochs=5, time_budget=None, qat_quantizer="minmax")
    tail = finetune_config(cfg, 0.25)
    assert tail.lr == pytest.approx(0.2 * 1e-3 * lr_factor(cfg, 1.0))
    assert (tail.epochs, tail.gamma, tail.warmup_epochs, tail.qat_quantizer) == (25, None, 0, None)  # decay re-planned
    timed = finetune_config(replace(cfg, epochs=1_000_000, time_budget=80.0, gamma=0.05 ** 1e-6), 0.25, lr_scale=1.0)
    assert timed.time_budget == pytest.approx(20.0) and timed.lr == pytest.approx(1e-3 * 0.05)


def test_fit_results_chain():
    a = FitResult(10, 5.0, [(10, -2.0, 5.0)], {}, ["first"])
    b = FitResult(3, 1.0, [(3, -2.5, 1.0)], {}, ["second"])
    both = a.then(b, "note")
    assert (both.epochs, both.seconds, both.history[-1], both.events) == (13, 6.0, (13, -2.5, 6.0),
                                                                          ["first", "second", "note"])


def test_fine_tuning_on_fixed_grids_recovers_what_quantization_lost(image):
    """A fitted MLP written at 4 bits loses several dB; training it on at those levels wins much of it back, and
    the file written on them decodes to what training saw. (Stored as weights: offsets from the seeded init lose
    almost nothing at 4 bits, tests/test_seeded_residual.py.)"""
    cfg = CompressConfig(parameterization="mlp", arch="16x2", residual=False,
                         fit=FitConfig(epochs=60, progress=False, seed=0))
    fitted = train(image, cfg)
    tables = {k: Distributional().quantize(v.detach().numpy().ravel(), 4) for k, v in fitted.param.stored().items()}
    before = write(fitted, 4, "distributional", qtensors=tables)
    grids = {k: FixedGrid(t) for k, t in tables.items()}
    tail = finetune_config(fitted.config.fit, 0.5)
    result = fit_many([image], fitted.spec, [fitted.param], tail, fixed=[grids])[0]
    assert result.epochs == 30 and set(result.qat_states) == set(grids)
    stored = {k: v.detach().numpy() for k, v in fitted.param.stored().items()}
    after = write(fitted, 4, "distributional", qtensors={k: grids[k].finalize(v) for k, v in stored.items()})
    assert after.report["psnr"] > before.report["psnr"] + 0.5, (before.report["psnr"], after.report["psnr"])
    _, pixels = decode(after.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(after.report["psnr"], abs=0.05)


def test_bpp_file_is_fine_tuned_within_the_rate(image):
    budget = 3.0 * 64 * 64 / 8
    enc = encode(image, CompressConfig(bpp=3.0, finetune=0.3, fit=FitConfig(epochs=20, progress=False, seed=1)))
    r = enc.report
    assert len(enc.data) <= budget and r["epochs"] == 20
    assert r["config"]["fit"]["epochs"] == 20  # the whole fit asked for, not its first stage (14 epochs)
    note = next(e for e in r["fit_events"] if e.startswith("fine-tuning ") and "at the file's quantization" in e)
    before, after = (float(v) for v in note.split(": ")[1].split(" (")[0].split(" -> "))
    assert r["psnr"] == pytest.approx(max(before, after), abs=0.006)  # the better of the two files is kept
    sizes = note.split("; ")[1].split(" B on its levels")[0].split(" -> ")
    kept = int(sizes[1]) if r["psnr"] == pytest.approx(after, abs=0.006) else int(sizes[0])  # ties: after
    assert len(enc.data) == kept and kept <= budget  # the sizes it reports are the files' (their drift: the margin)
    _, pixels = decode(enc.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(r["psnr"], abs=0.05)
    off = encode(image, CompressConfig(bpp=3.0, finetune=0.0, fit=FitConfig(epochs=2, progress=False, seed=1)))
    assert not any("fine-tun" in e for e in off.report["fit_events"])
    assert off.report["stored_values"] < r["stored_values"]  # planned at 8 bits, not FINETUNE_BITS: fewer values


@pytest.mark.parametrize("epochs, share", [(10, None), (50, 0.03), (7, 0.5)])
def test_the_two_stages_run_the_epochs_asked_for(image, epochs, share):
    """The fit and its fine-tuning share the epochs asked for, whatever the rounding (10 epochs at the default
    3%: 9 + 1, not 10 + 1), and the fine-tuning always has at least one."""
    enc = encode(image, CompressConfig(bpp=3.0, finetune=share, fit=FitConfig(epochs=epochs, progress=False, seed=2)))
    tuned = next(e for e in enc.report["fit_events"] if e.startswith("fine-tuning ") and "epochs at the file's" in e)
    assert enc.report["epochs"] == epochs and int(tuned.split()[1]) >= 1  # reported whichever file is kept


def test_a_fine_tuned_file_over_the_rate_is_quantized_to_it_afresh(image, monkeypatch):
    """Fine-tuning moves codes and so the file's size; chosen at 1.5x the budget (instead of 0.99x), the file is
    over the rate after fine-tuning, and the fine-tuned network is then quantized to the rate like any other."""
    monkeypatch.setattr(finetune, "FINETUNE_MARGIN", 1.5)
    # the weights stored: offsets from the seeded init move too few codes here to go over the rate
    enc = encode(image, CompressConfig(bpp=3.0, finetune=0.3, residual=False,
                                       fit=FitConfig(epochs=10, progress=False, seed=1)))
    assert len(enc.data) <= 3.0 * 64 * 64 / 8
    assert any("fine-tuned file" in e and "afresh" in e for e in enc.report["fit_events"]), enc.report["fit_events"]
    assert enc.report["config"]["fit"]["epochs"] == 10
    _, pixels = decode(enc.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(enc.report["psnr"], abs=0.05)


@pytest.mark.parametrize("settings", [{"qat": True}, {"target_psnr": 30.0}])
def test_fine_tuning_is_for_files_that_end_by_their_budget(image, settings):
    planned = prepare(image, CompressConfig(bpp=3.0, finetune=0.3, **settings)).config
    assert finetune.finetune_share(planned) == 0.0
    doh = prepare(image, CompressConfig(bpp=3.0, parameterization="doh")).config
    assert finetune.finetune_share(doh, image.depth_finetune) == image.depth_finetune > 0  # the kind's share
    assert finetune.finetune_share(doh) == 0.0  # a kind that has none
    assert finetune.finetune_share(replace(doh, finetune=0.3)) == 0.3
    mlp = prepare(image, CompressConfig(bpp=3.0, finetune=0.3, parameterization="mlp")).config
    assert finetune.finetune_share(mlp) == 0.3
    assert finetune.finetune_share(replace(mlp, finetune=None)) == finetune.FINETUNE
    help_text = next(f for f in fields(CompressConfig) if f.name == "finetune").metadata["help"]
    assert f"default {finetune.FINETUNE}," in help_text  # the CLI's help names the default in force


@pytest.mark.parametrize("share", [-0.1, 1.0, float("nan")])
def test_finetune_share_must_be_a_fraction(image, share):
    mlp = prepare(image, CompressConfig(bpp=3.0, finetune=share, parameterization="mlp")).config
    with pytest.raises(InrzipError, match="--finetune"):
        finetune.finetune_share(mlp)
