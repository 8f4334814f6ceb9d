"""D'OH trained on its weights (``adam-weights``, nets/weight_space.py): what the defaults resolve to, that the
network trained is always the one the file stores, that a rollback keeps the four tensors consistent, and that it
fits a real photograph crop better than Adam on the latent in the same epochs (docs/fitting.md, "D'OH: Adam on
the weights")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import inrzip
from inrzip.api import CompressConfig, FitConfig, prepare
from inrzip.errors import InrzipError
from inrzip.fit import fit
from inrzip.fit.trainer import _Model
from inrzip.nets.networks import NetworkSpec
from inrzip.nets.parameterizations import DOH, MLP
from inrzip.nets.weight_space import WeightSpace, carry_every, weight_space_for
from inrzip.signals.image import ImageSignal

DATA = Path(__file__).resolve().parent / "data"


def _crop(shared_data, side: int = 128) -> ImageSignal:
    im = Image.open(shared_data / "kodak" / "kodim05.png").convert("RGB")
    w, h = im.size
    box = ((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)
    return ImageSignal(np.asarray(im.crop(box), dtype=np.float32) / 255.0)


def _small() -> ImageSignal:
    return inrzip.api.load(DATA / "kodim23_64.png")


def _fit(image: ImageSignal, parameterization: str = "doh", **fit: object) -> FitConfig:
    cfg = CompressConfig(parameterization=parameterization, arch="28x9", bits=8, fit=FitConfig(**fit))
    return prepare(image, cfg).config.fit


def test_image_doh_defaults_to_adam_on_the_weights_with_an_mlp_schedule():
    image = _small()
    f = _fit(image)
    assert (f.optimizer, f.lr, f.betas, f.warmup_epochs) == ("adam-weights", 1e-3, (0.9, 0.999), 1)
    assert f.gamma ** f.epochs == pytest.approx(0.05)


def test_doh_on_its_weights_takes_batch_4096_and_carries_every_32768_samples():
    """Batch 4096 (carried every 8 steps) for D'OH on its weights up to 2^17 pixels, the images' 8192 for anything
    else (docs/fitting.md, "Batch 4096 for D'OH on its weights")."""
    image = _small()
    assert _fit(image).batch_size == 4096
    assert _fit(ImageSignal(np.zeros((256, 512, 3), np.float32))).batch_size == 4096  # 2^17 pixels
    assert _fit(ImageSignal(np.zeros((257, 512, 3), np.float32))).batch_size == 8192  # a larger photograph
    assert _fit(image, optimizer="adam").batch_size == 8192  # on the latent: the images' batch
    assert _fit(image, "mlp").batch_size == 8192
    assert _fit(image, batch_size=2048).batch_size == 2048  # asked for: kept
    assert [carry_every(b) for b in (65536, 20000, 8192, 4096, 2048, 1024)] == [4, 4, 4, 8, 8, 8]  # meshes: 20000
    prep = prepare(image, CompressConfig(parameterization="doh", arch="16x2", fit=FitConfig(batch_size=8192)))
    model = _Model(image, prep.param, prep.config.fit, loss=lambda p, t: ((p - t) ** 2).mean())
    model.start()
    assert model.weights is not None and model.weights.every == 4  # 8192: every 4 steps, as before 2026-12-07


def test_a_small_latent_keeps_adam_on_the_latent():
    image = _small()
    small = prepare(image, CompressConfig(parameterization="doh", arch="28x9", latent_ratio=0.3)).config.fit
    assert small.optimizer == "adam" and small.lr < 1e-4
    assert _fit(image).optimizer == "adam-weights"  # the default latent, 0.6 of the weights


def test_adam_on_the_latent_keeps_its_own_defaults():
    image = _small()
    f = _fit(image, optimizer="adam")
    latent = prepare(image, CompressConfig(parameterization="doh", arch="28x9")).param.latent
    assert (f.optimizer, f.betas, f.warmup_epochs) == ("adam", (0.99, 0.999), 0)
    assert f.lr == pytest.approx(0.045 / latent)


def test_the_paper_preset_and_quantization_aware_fits_train_the_latent():
    image = _small()
    paper = prepare(image, CompressConfig(parameterization="doh", arch="28x9", preset="paper")).config.fit
    assert (paper.optimizer, paper.lr) == ("adam", 1e-6)
    qat = prepare(image, CompressConfig(parameterization="doh", arch="28x9", qat=True)).config.fit
    assert qat.optimizer == "adam" and qat.lr < 1e-4
    assert _fit(image, "mlp").optimizer == "adam"


def test_mesh_doh_trains_its_weights_at_the_mlps_rate():
    """Occupancy: the kind's own rate for the weights (1e-4, the MLP's), its own decay; a small latent as before."""
    from inrzip.signals import meshio
    from inrzip.signals.occupancy import OccupancySignal

    mesh = OccupancySignal(np.indices((16,) * 3).sum(0) < 20, meshio.Normalisation((0.0, 0.0, 0.0), 1.0))
    f = prepare(mesh, CompressConfig(parameterization="doh", arch="28x9", fit=FitConfig(epochs=10))).config.fit
    assert (f.optimizer, f.lr, f.warmup_epochs, f.batch_size) == ("adam-weights", 1e-4, 1, 20000)  # the kind's batch
    assert f.gamma ** f.epochs == pytest.approx(0.999 ** 250)  # the kind's final fraction, not the images' 0.05
    small = prepare(mesh, CompressConfig(parameterization="doh", arch="28x9", latent_ratio=0.3,
                                         fit=FitConfig(epochs=10)))
    assert small.config.fit.optimizer == "adam"
    assert small.config.fit.lr == pytest.approx(3e-6 * 4240 / small.param.latent)
    assert prepare(mesh, CompressConfig(parameterization="mlp", arch="28x9")).config.fit.lr == 1e-4


def test_adam_weights_with_qat_is_a_one_line_error():
    with pytest.raises(InrzipError, match="adam-weights"):
        prepare(_small(), CompressConfig(parameterization="doh", arch="28x9", qat=True,
                                         fit=FitConfig(optimizer="adam-weights")))


def _stepped(spec: NetworkSpec, every: int = 1) -> tuple[DOH, WeightSpace, torch.Tensor, torch.Tensor]:
    param = DOH(spec, seed=3)
    ws = WeightSpace(param, every=every)
    z0 = param.z.detach().clone()
    step = torch.randn(ws.w.shape, generator=torch.Generator().manual_seed(1)) * 1e-3
    with torch.no_grad():
        ws.w.add_(step)
    return param, ws, z0, step


def _weights_are_b_z(param: DOH, ws: WeightSpace) -> None:
    assert torch.equal(ws.w.detach(), param.B @ param.z.detach())  # the network trained is the stored one
    layers, stored = ws.layers(), param.layers()
    assert all(torch.equal(a.detach(), b.detach()) and torch.equal(ab, bb) for (a, ab), (b, bb) in zip(layers, stored))


def test_a_carried_step_moves_the_latent_and_the_weights_stay_b_z():
    param, ws, z0, step = _stepped(NetworkSpec(2, 3, 12, 2))
    ws.step_done()
    B = param.B
    expected = z0 + (B.T @ step) / (B * B).sum(0)
    assert torch.allclose(param.z.detach(), expected, rtol=1e-5, atol=1e-9)
    _weights_are_b_z(param, ws)
    assert weight_space_for(MLP(NetworkSpec(2, 3, 12, 2))) is None


def test_a_carried_step_moves_the_offset_when_the_latent_is_stored_as_one():
    """With ``res_seed`` z is the seeded init plus the trained offset: the carry moves the offset by the same
    step, and the network trained (weights and biases) is still the one the file stores."""
    from inrzip.nets.inits import apply_seeded_residual

    param = DOH(NetworkSpec(2, 3, 12, 2), seed=3)
    apply_seeded_residual(param, 3)
    assert float(param.z.detach().abs().max()) == 0.0
    ws = WeightSpace(param, every=1)
    step = torch.randn(ws.w.shape, generator=torch.Generator().manual_seed(1)) * 1e-3
    with torch.no_grad():
        ws.w.add_(step)
    ws.step_done()
    B = param.B
    assert torch.allclose(param.z.detach(), (B.T @ step) / (B * B).sum(0), rtol=1e-5, atol=1e-9)
    z = param.with_base({"z": param.z})["z"].detach()
    assert torch.equal(ws.w.detach(), B @ z)
    layers, stored = ws.layers(), param.layers()
    assert all(torch.equal(a.detach(), b.detach()) and torch.equal(ab, bb) for (a, ab), (b, bb) in zip(layers, stored))


def test_steps_are_carried_every_k_steps_and_at_a_flush():
    param, ws, z0, step = _stepped(NetworkSpec(2, 3, 12, 2), every=3)
    ws.step_done()
    ws.step_done()
    assert torch.equal(param.z.detach(), z0)  # between carries the weights step as an MLP's
    assert not torch.equal(ws.w.detach(), param.B @ param.z.detach())
    ws.step_done()  # the third: carried, all three steps at once
    B = param.B
    assert torch.allclose(param.z.detach(), z0 + (B.T @ step) / (B * B).sum(0), rtol=1e-5, atol=1e-9)
    _weights_are_b_z(param, ws)
    z1 = param.z.detach().clone()
    ws.flush()  # nothing pending: nothing moves
    assert torch.equal(param.z.detach(), z1)
    with torch.no_grad():
        ws.w.add_(step)
    ws.step_done()
    ws.flush()  # one step pending: carried
    assert not torch.equal(param.z.detach(), z1)
    _weights_are_b_z(param, ws)


def test_a_fit_carries_the_pending_steps_at_the_end_of_every_epoch():
    """One step an epoch and a carry every 4 steps: only the flush at each epoch's end moves the latent every
    epoch, and it is what makes the stored latent (what the guard, the checks and the file read) the network the
    epoch trained."""
    image = _small()  # 64x64: 4096 samples, one batch an epoch
    prep = prepare(image, CompressConfig(parameterization="doh", arch="16x2", fit=FitConfig(
        epochs=3, batch_size=4096, warmup_epochs=0, progress=False, guard=False)))
    latents = [prep.param.z.detach().clone()]
    fit(image, prep.spec, prep.param, prep.config.fit,
        on_epoch=lambda epoch, loss: latents.append(prep.param.z.detach().clone()) and False)
    assert len(latents) == 4 and all(not torch.equal(a, b) for a, b in zip(latents, latents[1:]))


def test_a_rollback_restores_weights_and_latent_together(monkeypatch):
    """Carried every step here: with carries every few steps (the default) an epoch's mean loss also scores the
    weights between carries, off span(B), which no file can store, so 'the best state seen' would be a loss no
    D'OH network had (the file is the same: 6.97 dB carried every 4 steps, 6.94 every step)."""
    from inrzip.nets import weight_space

    monkeypatch.setattr(weight_space, "carry_every", lambda batch_size: 1)
    image = _small()
    enc = inrzip.encode(image, parameterization="doh", arch="16x2", bits=16, epochs=30, batch_size=512, lr=0.5,
                        progress=False)
    events = enc.report["fit_events"]
    assert any("diverged" in e for e in events), events
    assert math.isfinite(enc.report["psnr"])
    # the decoded file (B z of the stored latent) is the float network the fit ended on
    assert abs(enc.report["psnr"] - enc.report["float_psnr"]) < 0.5, enc.report
    # and no worse than the best state training saw (its loss is of W; a latent left behind W would fail this)
    history = inrzip.api.train(image, CompressConfig(parameterization="doh", arch="16x2", fit=FitConfig(
        epochs=30, batch_size=512, lr=0.5, progress=False))).result.history
    best = max(-10.0 * loss for _, loss, _ in history if math.isfinite(loss))  # log10 MSE -> PSNR
    assert enc.report["psnr"] >= best - 1.0, (enc.report["psnr"], best)


def test_the_trainer_hands_the_optimizer_the_weights_only_for_a_float_doh_fit():
    image = _small()
    prep = prepare(image, CompressConfig(parameterization="doh", arch="16x2"))
    model = _Model(image, prep.param, prep.config.fit, loss=lambda p, t: ((p - t) ** 2).mean())
    held = model.start()
    assert model.weights is not None and held[0] is model.weights.w and any(t is prep.param.z for t in held)
    prep = prepare(image, CompressConfig(parameterization="doh", arch="16x2", fit=FitConfig(optimizer="adam")))
    model = _Model(image, prep.param, prep.config.fit, loss=lambda p, t: ((p - t) ** 2).mean())
    assert model.start()[0] is prep.param.z and model.weights is None


def test_on_a_photograph_crop_the_weights_fit_beats_the_latent_fit_in_the_same_epochs(shared_data):
    image = _crop(shared_data)
    psnr = {opt: inrzip.encode(image, parameterization="doh", arch="28x9", bits=8, epochs=100, optimizer=opt,
                               finetune=0.0, progress=False).report["psnr"] for opt in ("adam-weights", "adam")}
    # the optimizers alone (no fine-tuning at the file's levels): measured 22.00 against 21.25 dB (decoded 8-bit)
    assert psnr["adam-weights"] > psnr["adam"] + 0.5, psnr
