"""Learned quantization steps (``LearnedGrids``): fine-tuning that trains each tensor's range with its weights, on
the levels the file will store, with the file's size held by one shared shift of the log steps (``keep_rate``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inrzip import finetune
from inrzip.api import CompressConfig, FitConfig, decode, load, train, write
from inrzip.errors import InrzipError
from inrzip.fit import finetune_config, fit_many
from inrzip.metrics import psnr
from inrzip.quant import Distributional, FixedGrid, LearnedGrids, QTensor


def _tables(specs: dict[str, tuple[float, int, int]]) -> tuple[dict[str, torch.Tensor], dict[str, QTensor]]:
    """name -> (k, bits, size): Gaussian tensors and their distributional tables."""
    xs = {n: torch.randn(size, generator=torch.Generator().manual_seed(i)) for i, (n, (_, _, size)) in
          enumerate(specs.items())}
    return xs, {n: Distributional(k=k).quantize(xs[n].numpy(), b) for n, (k, b, _) in specs.items()}


def test_learned_grids_start_on_the_files_levels():
    xs, tables = _tables({"w0": (2.0, 5, 300), "b0": (3.0, 7, 20), "w1": (2.5, 4, 500)})
    grids = LearnedGrids(tables, gain=10.0)
    ws = {n: x.clone().requires_grad_(True) for n, x in xs.items()}
    out = grids(ws)
    for n, x in xs.items():  # bit for bit what each tensor's FixedGrid (and so the file) gives
        assert torch.equal(out[n].detach(), FixedGrid(tables[n])(x).detach())
    sum(v.sum() for v in out.values()).backward()
    assert all(torch.equal(w.grad, torch.ones_like(w)) for w in ws.values())  # straight through, as FixedGrid's
    assert grids.theta.grad is not None and torch.all(grids.theta.grad != 0)
    again = grids.finalize({n: x.numpy() for n, x in xs.items()})
    assert all(np.array_equal(again[n].codes, t.codes) and np.array_equal(again[n].params, t.params)
               for n, t in tables.items())


def test_a_constant_tensor_keeps_its_level():
    tables = {"w0": QTensor(np.zeros(4, np.int64), np.array([0.5, 0.5], np.float32), 6)}
    grids = LearnedGrids(tables, gain=1.0)
    x = torch.full((4,), 0.5, requires_grad=True)
    grids({"w0": x})["w0"].sum().backward()
    assert torch.equal(grids.theta.grad, torch.zeros(1, 2)) and np.array_equal(grids.log_step_changes(), [0.0])


def test_learned_steps_move_towards_less_error():
    """Weights held fixed, the ranges trained on their quantization error alone: a range clipped too tight (k=1 at
    5 bits) widens, one too wide (k=8, i.e. the data's own [min, max]) narrows, and the error falls; the codes
    then decode to exactly what the last step computed."""
    xs, tables = _tables({"tight": (1.0, 5, 2000), "wide": (8.0, 5, 2000)})
    grids = LearnedGrids(tables, gain=1.0)
    opt = torch.optim.Adam([grids.theta], lr=0.02)

    def errors() -> dict[str, float]:
        return {n: float((v.detach() - xs[n]).square().mean()) for n, v in grids(xs).items()}
    start = errors()
    for _ in range(150):
        opt.zero_grad()
        sum((v - xs[n]).square().mean() for n, v in grids(xs).items()).backward()
        opt.step()
    end = errors()
    assert end["tight"] < 0.85 * start["tight"] and end["wide"] < 0.85 * start["wide"], (start, end)
    moves = grids.log_step_changes()
    assert moves[0] > 0 > moves[1]
    out = grids(xs)
    final = grids.finalize({n: x.numpy() for n, x in xs.items()})
    for n in xs:
        assert torch.equal(torch.from_numpy(Distributional().dequantize(final[n])), out[n].detach())


def test_keep_rate_holds_the_size_weighted_log_step():
    _, tables = _tables({"a": (2.0, 5, 100), "b": (3.0, 6, 300)})
    grids = LearnedGrids(tables, gain=2.0)
    with torch.no_grad():
        grids.theta[:, 1] = torch.tensor([0.3, -0.1])  # log steps +0.6 and -0.2
    grids.keep_rate()
    moves = grids.log_step_changes()
    assert 100 * moves[0] + 300 * moves[1] == pytest.approx(0.0, abs=1e-5)
    assert moves[0] - moves[1] == pytest.approx(0.8, rel=1e-5)  # their difference, the trade, is kept


def test_fine_tuning_with_learned_steps_writes_what_it_trained(data_dir):
    """Through the one trainer: the ranges train with the weights (the optimizer holds them), the file written on
    the trained ranges decodes to the reported PSNR, and its size stays near the fixed-range file's."""
    image = load(data_dir / "kodim23_64.png")
    cfg = CompressConfig(parameterization="mlp", arch="16x2", fit=FitConfig(epochs=60, progress=False, seed=0))
    fitted = train(image, cfg)
    tables = {k: Distributional().quantize(v.detach().numpy().ravel(), 5) for k, v in fitted.param.stored().items()}
    before = write(fitted, 5, "distributional", qtensors=tables)
    tail = finetune_config(fitted.config.fit, 0.5)
    grids = LearnedGrids(tables, gain=1e-2 / tail.lr)
    fit_many([image], fitted.spec, [fitted.param], tail, fixed=[grids])
    assert np.any(grids.log_step_changes() != 0.0)
    stored = {k: v.detach().numpy() for k, v in fitted.param.stored().items()}
    after = write(fitted, 5, "distributional", qtensors=grids.finalize(stored))
    assert after.report["psnr"] > before.report["psnr"]
    assert abs(after.sizes.file_bytes - before.sizes.file_bytes) < 0.05 * before.sizes.file_bytes
    _, pixels = decode(after.data)
    assert psnr(pixels / 255.0, image.reference() / 255.0) == pytest.approx(after.report["psnr"], abs=0.05)


@pytest.mark.parametrize("rate, updates, learned", [(None, 1000, True), (1e-3, 1000, True), (0.0, 1000, False),
                                                    (None, 100, False), (1e-3, 100, True)])
def test_fine_tuning_grids_follow_step_lr(rate, updates, learned):
    """Learned by default when the fine-tuning makes enough steps (``MIN_STEP_UPDATES``); an explicit rate is
    always honoured, and 0 keeps the ranges."""
    _, tables = _tables({"w0": (3.0, 6, 50)})
    cfg = CompressConfig(step_lr=rate)
    grids = finetune.finetune_grids(tables, cfg, 1e-5, updates)
    note = finetune.steps_note(grids, updates, cfg)
    if not learned:
        assert isinstance(grids["w0"], FixedGrid) and note.startswith(", ranges kept")
        assert ("under the 250" in note) == (rate is None)  # the default's gate says why; an explicit 0 needs no why
        return
    assert isinstance(grids, LearnedGrids)
    assert grids.gain == pytest.approx((finetune.FINETUNE_STEP_LR if rate is None else rate) / 1e-5)
    assert note == ", steps learned (x1.000 to x1.000)"


def test_finetune_updates_counts_the_steps_the_tail_will_make():
    by_epochs = FitConfig(epochs=3, batch_size=100, time_budget=None)
    assert finetune.finetune_updates(50, 10.0, by_epochs, 1001) == 3 * 11
    by_time = FitConfig(epochs=10**6, batch_size=100, time_budget=2.0)  # 50 epochs in 10 s: 10 in 2 s
    assert finetune.finetune_updates(50, 10.0, by_time, 1001) == pytest.approx(10 * 11)


@pytest.mark.parametrize("rate", [-1e-3, 1.0, float("nan")])
def test_step_lr_must_be_a_small_rate(rate):
    with pytest.raises(InrzipError, match="--step-lr"):
        finetune.finetune_step_lr(CompressConfig(step_lr=rate))


def test_the_paired_benchmark_runs_one_fit_and_each_fine_tuning_from_it(data_dir, tmp_path):
    """benchmarks/finetune_steps.py on a 64x64 image: one row per step rate, all from one fit (same "before"), the
    reference row's file the fixed-range fine-tuning's, and the table names every rate."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "finetune_steps.py"
    spec = importlib.util.spec_from_file_location("finetune_steps", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.one(str(data_dir / "kodim23_64.png"), 3.0, None, 12, [0.0, 3e-3], 0.3)
    assert [r["step_lr"] for r in rows] == [0.0, 3e-3]
    assert len({(r["before_psnr"], r["before_bytes"]) for r in rows}) == 1
    assert all(r["bytes"] <= r["budget_bytes"] and r["epochs"] == 12 for r in rows)
    assert "steps learned" not in rows[0]["event"] and "steps learned" in rows[1]["event"]
    text = bench.table(rows, [0.0, 3e-3])
    assert "step lr 0.003" in text and "| kodim23_64 |" in text


def test_step_lr_help_names_the_defaults_in_force():
    from dataclasses import fields

    help_text = next(f for f in fields(CompressConfig) if f.name == "step_lr").metadata["help"]
    import re

    assert float(re.search(r"default ([0-9.e-]+) when", help_text).group(1)) == finetune.FINETUNE_STEP_LR
    assert f"at least {finetune.MIN_STEP_UPDATES} steps" in help_text
