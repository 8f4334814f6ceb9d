"""A fit never ends worse than it was: the best state is kept, a divergence is rolled back and reported."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

import inrzip
from inrzip.config import FitConfig
from inrzip.fit import fit, fit_many
from inrzip.fit.guard import DIVERGED, QAT_DIVERGED, Guard
from inrzip.nets.networks import NetworkSpec
from inrzip.nets.parameterizations import MLP
from inrzip.signals.image import ImageSignal

DATA = Path(__file__).resolve().parent / "data"


def test_guard_keeps_the_best_and_rolls_back_with_a_lower_rate():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([{"params": [w], "lr": 0.1}])
    guard = Guard(opt, ["log10mse"])
    with torch.no_grad():
        w.fill_(1.0)
    assert guard.after_epoch(1, [-2.0]) == []  # best so far: kept
    with torch.no_grad():
        w.fill_(5.0)
    assert guard.after_epoch(2, [-1.9]) == []  # a little worse: not a divergence
    events = guard.after_epoch(3, [-2.0 + DIVERGED + 0.1])
    assert len(events) == 1 and "rolled back to epoch 1" in events[0][1]
    assert torch.equal(w.detach(), torch.ones(3)) and guard.lr_scale(0) == 0.5
    assert guard.after_epoch(4, [math.nan])[0][1].count("rolled back") == 1  # NaN counts as a divergence
    with torch.no_grad():
        w.fill_(7.0)
    assert "restored the best state" in guard.finish([-1.5])[0][1] and torch.equal(w.detach(), torch.ones(3))


def test_qat_epochs_are_judged_against_recent_qat_epochs_not_the_float_best():
    """The float best does not roll QAT back to the float weights; a table refresh's jump is not a divergence;
    a real one (far above the recent QAT epochs, or NaN) still is, and the end restores the best QAT state."""
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([{"params": [w], "lr": 0.1}])
    guard = Guard(opt, ["log10mse"])
    assert guard.after_epoch(1, [-3.0], [False]) == []  # float phase: best -3.0
    for epoch, (loss, value) in enumerate([(-2.0, 1.0), (-2.3, 2.0), (-1.6, 3.0), (-2.2, 4.0), (-1.7, 5.0)], 2):
        with torch.no_grad():
            w.fill_(value)
        assert guard.after_epoch(epoch, [loss], [True]) == [], epoch  # up to 1.4 decades above the float best
    assert guard.lr_scale(0) == 1.0
    assert guard.after_epoch(7, [-2.0 + DIVERGED + 0.2], [True]) == []  # a refresh's jump: recent median -2.0
    # the last five QAT epochs: -2.3, -1.6, -2.2, -1.7, -1.3, median -1.7; far above it: diverged
    events = guard.after_epoch(8, [-1.7 + QAT_DIVERGED + 0.1], [True])
    assert len(events) == 1 and "rolled back to epoch 3" in events[0][1]  # the best QAT epoch (-2.3)
    assert torch.equal(w.detach(), torch.full((3,), 2.0)) and guard.lr_scale(0) == 0.5
    assert "rolled back" in guard.after_epoch(9, [math.nan], [True])[0][1]
    with torch.no_grad():
        w.fill_(9.0)
    assert "restored the best state (epoch 3" in guard.finish([-1.9])[0][1]
    assert torch.equal(w.detach(), torch.full((3,), 2.0))


def test_low_bit_qat_runs_its_epochs():
    """k-means QAT at 3 and 4 bits on a CIFAR-sized image: its loss jumps with codebook refreshes; the fit must
    still run every epoch (with the float yardstick these two stopped after 4 rollbacks, at epochs 46 and 131)."""
    sig = ImageSignal(np.ascontiguousarray(ImageSignal.load(DATA / "kodim23_64.png").pixels[16:48, 16:48]))
    spec = NetworkSpec(2, 3, 20, 1)
    results = [fit(sig, spec, MLP(spec, seed=0), FitConfig(epochs=200, batch_size=1024, lr=1e-3, progress=False,
                                                           qat_quantizer="kmeans", qat_bits=bits, seed=0))
               for bits in (3, 4)]
    assert all(r.epochs == 200 for r in results), [r.events for r in results]
    assert not any("stopped" in e for r in results for e in r.events)


def _psnr(loss: float) -> float:
    return -10.0 * loss  # log10mse on [0, 1] pixels


def test_an_absurd_learning_rate_is_rolled_back_and_reported(capsys):
    image = inrzip.api.load(DATA / "kodim23_64.png")
    enc = inrzip.encode(image, parameterization="mlp", arch="16x2", bits=16, epochs=40, batch_size=512, lr=0.5,
                        progress=False)
    events = enc.report["fit_events"]
    assert events and any("diverged" in e for e in events), events
    # the file is no worse than the best state the fit saw
    losses = [h[1] for h in inrzip.api.train(image, inrzip.CompressConfig(
        parameterization="mlp", arch="16x2", fit=FitConfig(epochs=40, batch_size=512, lr=0.5, progress=False)))
              .result.history]
    best = max(_psnr(v) for v in losses if math.isfinite(v))
    assert enc.report["float_psnr"] >= best - 1.0 and enc.report["psnr"] >= best - 1.0
    assert math.isfinite(enc.report["psnr"])


def test_a_fit_without_the_guard_is_left_alone():
    """``guard=False`` (optimizer studies): the same absurd rate runs all its epochs, nothing rolled back."""
    image = ImageSignal.load(DATA / "kodim23_64.png")
    spec = NetworkSpec(2, 3, 16, 2)
    cfgs = [FitConfig(epochs=40, batch_size=512, lr=0.5, progress=False, guard=g) for g in (True, False)]
    guarded, free = fit_many(image, spec, [MLP(spec, seed=1), MLP(spec, seed=1)], cfgs)
    assert any("diverged" in e for e in guarded.events)
    assert free.events == [] and free.epochs == 40 and len(free.history) == 40


def test_only_the_diverging_model_of_a_pass_is_rolled_back():
    image = ImageSignal.load(DATA / "kodim23_64.png")
    spec = NetworkSpec(2, 3, 16, 2)
    cfgs = [FitConfig(epochs=30, batch_size=512, lr=lr, progress=False) for lr in (1e-3, 0.5)]
    good, bad = fit_many(image, spec, [MLP(spec, seed=1), MLP(spec, seed=1)], cfgs)
    assert bad.events and not any("diverged" in e for e in good.events)
    alone = fit(image, spec, MLP(spec, seed=1), cfgs[0])
    np.testing.assert_allclose([h[1] for h in good.history], [h[1] for h in alone.history], rtol=1e-4)


def test_target_psnr_stops_early_and_the_file_reaches_it(tmp_path, capsys):
    from inrzip.cli import main

    # an easy image: a smooth colour ramp
    y, x = np.mgrid[0:48, 0:64] / 64.0
    ramp = np.stack([x, y, 0.5 * (x + y)], axis=-1)
    src = tmp_path / "ramp.png"
    from PIL import Image

    Image.fromarray((ramp * 255).astype(np.uint8)).save(src)
    out = tmp_path / "ramp.inr"
    assert main(["compress", str(src), "-o", str(out), "--mlp", "--arch", "16x2", "--bits", "12", "--epochs", "3000",
                 "--batch-size", "1024", "--target-psnr", "36", "--quiet", "--json"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["epochs"] < 3000  # stopped early
    assert report["psnr"] >= 36.0  # the written file reaches the target
    assert any("target 36.00 dB reached" in e for e in report["fit_events"]), report["fit_events"]
    decoded = inrzip.decompress(out.read_bytes())
    truth = np.asarray(Image.open(src)).astype(np.float64) / 255
    assert inrzip.metrics.psnr(decoded / 255.0, truth) >= 36.0


def test_warm_up_counts_epochs_run_and_is_the_mlp_default(data_dir):
    """The rate ramps over ``warmup_epochs`` epochs actually run, also under a time budget that plans far more
    epochs than run (before, it was that fraction of the planned epochs); MLPs and D'OH images trained on their
    weights warm up for one epoch by default, D'OH on its latent and the paper's recipe not at all."""
    import pytest

    from inrzip.api import CompressConfig, load, resolve
    from inrzip.fit.schedules import lr_factor

    FC = FitConfig

    cfg = FC(epochs=300, warmup_epochs=1, gamma=1.0, time_budget=120.0)
    assert lr_factor(cfg, p=0.001, epochs_done=0.5) == pytest.approx(0.5)  # half of the first epoch run
    assert lr_factor(cfg, p=0.01, epochs_done=1.0) == pytest.approx(1.0)
    assert lr_factor(FC(epochs=300, warmup_epochs=0, gamma=1.0), p=0.0, epochs_done=0.0) == 1.0
    image = load(data_dir / "kodim23_64.png")
    fit = resolve(CompressConfig(parameterization="mlp"), image).fit
    assert fit.warmup_epochs == 1
    assert resolve(CompressConfig(parameterization="doh"), image).fit.warmup_epochs == 1  # on its weights, as an MLP
    assert resolve(CompressConfig(parameterization="doh", fit=FC(optimizer="adam")), image).fit.warmup_epochs == 0
    assert resolve(CompressConfig(parameterization="mlp", preset="paper"), image).fit.warmup_epochs == 0
    assert resolve(CompressConfig(parameterization="mlp", fit=FC(warmup_epochs=5)), image).fit.warmup_epochs == 5


def test_a_time_budget_without_epochs_fits_until_the_clock_ends_it(data_dir):
    """``--time-budget`` with no ``--epochs`` plans the run over the budget and uses all of it (a 300-epoch cap
    used to stop it early); epochs asked for, here or by the signal kind (meshes: 250), still cap it."""
    import pytest

    from inrzip.api import CompressConfig, load, resolve
    from inrzip.fit.defaults import BUDGET_EPOCHS, resolve_fit
    from inrzip.fit.schedules import lr_factor
    from inrzip.signals.occupancy import OccupancySignal

    image = load(data_dir / "kodim23_64.png")
    budgeted = resolve(CompressConfig(parameterization="mlp", fit=FitConfig(time_budget=30.0)), image).fit
    assert budgeted.epochs == BUDGET_EPOCHS
    assert lr_factor(budgeted, p=0.5, epochs_done=10) == pytest.approx(MLP.final_lr_fraction ** 0.5)
    assert lr_factor(budgeted, p=1.0, epochs_done=10) == pytest.approx(MLP.final_lr_fraction)
    assert resolve(CompressConfig(parameterization="mlp"), image).fit.epochs == 300
    assert resolve(CompressConfig(parameterization="mlp", fit=FitConfig(epochs=40, time_budget=30.0)),
                   image).fit.epochs == 40
    mesh = resolve_fit(FitConfig(time_budget=30.0), OccupancySignal, MLP(NetworkSpec(3, 1, 8, 2)))
    assert mesh.epochs == OccupancySignal.fit_defaults["epochs"]

    tiny = ImageSignal(image.pixels[:8, :8].copy())
    budget, spec = 2.0, NetworkSpec(2, 3, 8, 1)
    result = fit(tiny, spec, MLP(spec), FitConfig(time_budget=budget, progress=False, threads=1))
    assert result.epochs > 0 and result.seconds >= budget  # the clock ended it, not an epoch count


def test_a_per_epoch_gamma_under_a_time_budget_needs_planned_epochs():
    """The rate decays as gamma^(progress x planned epochs); with --time-budget and no --epochs the plan is a
    million epochs, so `--gamma 0.999 --time-budget 6` had the rate at 0.999^10000 a hundredth into the fit and
    wrote a 16.6 dB file where the default gives 24.6. Now that is a one-line error; with --epochs it runs."""
    import pytest

    from inrzip.api import CompressConfig, load, resolve
    from inrzip.errors import InrzipError

    image = load(DATA / "kodim23_64.png")
    with pytest.raises(InrzipError, match="--epochs"):
        resolve(CompressConfig(fit=FitConfig(gamma=0.999, time_budget=6.0)), image)
    planned = resolve(CompressConfig(fit=FitConfig(gamma=0.999, time_budget=6.0, epochs=100)), image).fit
    assert (planned.gamma, planned.epochs) == (0.999, 100)
    assert resolve(CompressConfig(fit=FitConfig(gamma=1.0, time_budget=6.0)), image).fit.gamma == 1.0  # no decay
