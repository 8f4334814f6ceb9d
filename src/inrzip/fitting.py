"""One trainer for every signal kind: Adam, exponential decay, loss, budgets, progress, QAT.

Budgets are in epochs (full passes over the signal's samples, as the papers count them) with an
optional wall-clock cap. The learning-rate schedule (warm-up, then gamma per epoch) follows the
D'OH supplement's Table 1; defaults per parameterization come from the sweep in docs/fitting.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import engine as engines
from .errors import InrzipError
from .networks import NetworkSpec
from .parameterizations import Parameterization
from .quant.qat import QATState
from .quantizers import get_quantizer
from .runtime import tune_allocator
from .signals.base import Signal

__all__ = ["FitConfig", "FitResult", "LOSSES", "default_lr", "fit"]

# A loss maps (..., samples, outputs) predictions and targets to one value per leading index: a scalar for
# one model's (B, out), a (K,) vector for K stacked models' (K, B, out), computed in one pass (fit_many).
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_SAMPLE_DIMS = (-2, -1)


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).square().mean(_SAMPLE_DIMS)


def _log10_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """log10(MSE): unscaled negative PSNR; equals SGD on MSE with steps scaled by 1/MSE (seed 000, 1.7)."""
    return torch.log10(_mse(pred, target) + 1e-12)


def _bce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on outputs read as probabilities (clamped), for occupancy."""
    return F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), target, reduction="none").mean(_SAMPLE_DIMS)


LOSSES: dict[str, LossFn] = {"mse": _mse, "log10mse": _log10_mse, "bce": _bce}

# Defaults from the sweep in docs/fitting.md (256x256 crops, batch 8192, 300 epochs). Adam's step moves
# each z entry by about lr, and z ~ U(+-1/n), so D'OH's rate scales as 1/n: 0.1 / n is 2e-5 at n = 5000.
# The paper's rates (2e-4 / 1e-6 at batch 1024, 2000 epochs) are the "paper" preset.
_MLP_LR = 2e-4
_DOH_LR_TIMES_LATENT = 0.1


# LR decay when the user gives none: over the whole run the rate falls to what the sweep's 300-epoch runs
# ended at: 0.999^300 = 0.74 for the MLP, 0.995^300 = 0.22 for D'OH (20.35 dB at 0.995 vs 19.77 at 0.999;
# the MLP was better at 0.999: 23.28 vs 23.02 dB). Per epoch that is 0.999 / 0.995 at 300 epochs, and a
# 2000-epoch run decays as gently over its length instead of ending at 4e-5 of its rate.
_FINAL_LR_FRACTION = {"mlp": 0.999 ** 300, "doh": 0.995 ** 300}


def default_lr(param: Parameterization, signal: Signal | None = None) -> float:
    """Learning rate for ``param`` when the user gives none; a signal kind may set its own (``default_lrs``)."""
    rates = getattr(signal, "default_lrs", {})
    if param.name == "doh":
        return rates.get("doh", _DOH_LR_TIMES_LATENT) / getattr(param, "latent")
    return rates.get("mlp", _MLP_LR)


def default_gamma(param: Parameterization, epochs: int) -> float:
    """LR decay per epoch for ``param`` when the user gives none (see ``_FINAL_LR_FRACTION``)."""
    return _FINAL_LR_FRACTION.get(param.name, 0.999 ** 300) ** (1.0 / max(epochs, 1))


@dataclass
class FitConfig:
    """Training settings; every field has a CLI flag of the same name."""

    epochs: int = 300  # full passes over the samples
    batch_size: int = 8192
    lr: float | None = None  # None: default for the parameterization
    loss: str | None = None  # None: the signal's default (log10mse for images)
    betas: tuple[float, float] = (0.99, 0.999)  # D'OH supplement Table 1
    gamma: float | None = None  # LR decay per epoch; None: per parameterization and epochs (docs/fitting.md)
    warmup_epochs: int = 0  # linear LR warm-up
    time_budget: float | None = None  # seconds; stops after the epoch that crosses it
    seed: int = 0
    device: str = "cpu"
    progress: bool = True
    optimizer: str = "adam"  # "adam" | "sgd" | "sgd-inv-mse" (SGD with the step scaled by 1/MSE, seed 000 sec. 1.7)
    qat_quantizer: str | None = None  # quantization-aware training with this quantizer...
    qat_bits: int = 8  # ...at this bit depth (straight-through estimator)
    qat_refresh: int = 1  # steps between re-estimates of a QAT range/codebook (1 was best: docs/quantizers.md)
    qat_start: float = 0.0  # fraction of epochs trained in float before QAT starts (same optimiser run)
    engine: str = "auto"  # reference | fast | compiled | auto (inrzip.engine, docs/fitting-speed.md)
    threads: int | None = None  # torch threads during the fit; None: 1 when the machine is oversubscribed, else as is
    precision: str = "fp32"  # "bf16": hidden-to-hidden GEMMs in bfloat16 (fused sine engines; docs/fitting-speed.md)


@dataclass
class FitResult:
    epochs: int
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (epoch, mean loss, seconds)
    qat_states: dict[str, "QATState"] = field(default_factory=dict)  # per stored tensor, when QAT ran


def _validate(cfg: FitConfig) -> None:
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise InrzipError("epochs and batch size must be positive")
    if cfg.loss is not None and cfg.loss not in LOSSES:
        raise InrzipError(f"unknown loss {cfg.loss!r}; choose from {sorted(LOSSES)}")
    if cfg.precision not in engines.PRECISIONS:
        raise InrzipError(f"unknown precision {cfg.precision!r}; choose from {sorted(engines.PRECISIONS)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise InrzipError(f"unknown optimizer {cfg.optimizer!r}; choose from {sorted(OPTIMIZERS)}")


def _adam(params: list[torch.Tensor], lr: float, cfg: "FitConfig") -> torch.optim.Optimizer:
    return engines.make_adam(params, lr, cfg.betas, engines.resolve_engine(cfg.engine).fused_adam)


def _sgd(params: list[torch.Tensor], lr: float, cfg: "FitConfig") -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr)


OPTIMIZERS: dict[str, Callable[[list[torch.Tensor], float, "FitConfig"], torch.optim.Optimizer]] = {
    "adam": _adam, "sgd": _sgd, "sgd-inv-mse": _sgd,
}


def _step(opt: torch.optim.Optimizer, cfg: FitConfig, loss: torch.Tensor, base_lrs: list[float]) -> None:
    """One optimiser step; for 'sgd-inv-mse' the step is scaled by 1/MSE of this batch (log-loss equivalent)."""
    if cfg.optimizer == "sgd-inv-mse":
        scale = 1.0 / max(float(loss.detach()), 1e-12)
        for group, base in zip(opt.param_groups, base_lrs):
            group["lr"] = base * scale
    opt.step()
    if cfg.optimizer == "sgd-inv-mse":
        for group, base in zip(opt.param_groups, base_lrs):
            group["lr"] = base


def lr_schedule(cfg: FitConfig, param: Parameterization) -> Callable[[int], float]:
    """Epoch -> LR factor: linear warm-up, then exponential decay (gamma per parameterization if unset)."""
    gamma = cfg.gamma if cfg.gamma is not None else default_gamma(param, cfg.epochs)

    def factor(epoch: int) -> float:
        warm = min(1.0, (epoch + 1) / cfg.warmup_epochs) if cfg.warmup_epochs > 0 else 1.0
        return warm * gamma ** epoch
    return factor


def make_layers_fn(param: Parameterization, cfg: FitConfig, states: dict[str, "QATState"]) -> Callable[[], list]:
    """Layers for a training step: plain, or fake-quantized stored tensors for QAT. For QAT, ``states`` is
    filled with one QATState per stored tensor, so the file stores the tables training saw."""
    if cfg.qat_quantizer is None:
        return param.layers
    q = get_quantizer(cfg.qat_quantizer)
    states.update({k: QATState(q, cfg.qat_bits, cfg.qat_refresh) for k in param.stored()})
    return lambda: param.layers_from({k: states[k](v) for k, v in param.stored().items()})


def fit(signal: Signal, spec: NetworkSpec, param: Parameterization, cfg: FitConfig,
        on_epoch: Callable[[int, float], None] | None = None) -> FitResult:
    """Fit ``param`` so that the network matches ``signal``; returns timing and the loss history."""
    _validate(cfg)
    tune_allocator()
    param.to(torch.device(cfg.device))
    with engines.using_threads(cfg.threads):  # restored on divergence or Ctrl-C too
        return _train(signal, spec, param, cfg, on_epoch)


def _train(signal: Signal, spec: NetworkSpec, param: Parameterization, cfg: FitConfig,
           on_epoch: Callable[[int, float], None] | None) -> FitResult:
    device = torch.device(cfg.device)
    loss_fn = LOSSES[cfg.loss or signal.default_loss]
    lr = cfg.lr if cfg.lr is not None else default_lr(param, signal)
    opt = OPTIMIZERS[cfg.optimizer]([p for p in param.parameters() if p.requires_grad], lr, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule(cfg, param))
    result, start = FitResult(0, 0.0), time.perf_counter()
    layers_fn = make_layers_fn(param, cfg, result.qat_states)
    qat_from = int(cfg.qat_start * cfg.epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    net = engines.resolve_engine(cfg.engine, cfg.epochs * signal.num_samples()).forward(spec, device, cfg.precision)
    out_of_time = lambda: cfg.time_budget is not None and time.perf_counter() - start >= cfg.time_budget  # noqa: E731
    bar = tqdm(range(cfg.epochs), desc="fitting", unit="epoch", disable=not cfg.progress, leave=False)
    for epoch in bar:
        total, n = torch.zeros((), dtype=torch.float64, device=device), 0  # on the device: no sync per step
        # QAT after the float warm-up: by epochs, or by time when a budget may end the fit first
        qat = epoch >= qat_from or (cfg.time_budget is not None
                                    and time.perf_counter() - start >= cfg.qat_start * cfg.time_budget)
        for inputs, targets in signal.batches(cfg.batch_size, gen, device):
            layers = layers_fn() if qat else param.layers()
            pred = signal.predict(lambda x: net(layers, x), inputs)
            loss = loss_fn(pred, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            _step(opt, cfg, loss, [g["lr"] for g in opt.param_groups])
            total, n = total + loss.detach(), n + 1
            if out_of_time():  # checked per step: one epoch of a big signal can outlast the budget
                break
        sched.step()
        mean = float(total) / max(n, 1)
        if not math.isfinite(mean):
            raise InrzipError(f"training diverged at epoch {epoch + 1} (loss {mean}); lower --lr")
        result.history.append((epoch + 1, mean, time.perf_counter() - start))
        result.epochs = epoch + 1
        bar.set_postfix(loss=f"{mean:.4g}")
        if on_epoch is not None:
            on_epoch(epoch + 1, mean)
        if out_of_time():
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result
