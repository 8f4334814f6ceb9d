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

from .errors import InrzipError
from .networks import NetworkSpec, forward
from .parameterizations import Parameterization
from .quantizers import get_quantizer
from .runtime import tune_allocator
from .signals.base import Signal

__all__ = ["FitConfig", "FitResult", "LOSSES", "default_lr", "fit"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def _log10_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """log10(MSE): unscaled negative PSNR; equals SGD on MSE with steps scaled by 1/MSE (seed 000, 1.7)."""
    return torch.log10(F.mse_loss(pred, target) + 1e-12)


def _bce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on outputs read as probabilities (clamped), for occupancy."""
    return F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), target)


LOSSES: dict[str, LossFn] = {"mse": _mse, "log10mse": _log10_mse, "bce": _bce}

# Defaults found by the sweep in docs/fitting.md (batch 8192, 300 epochs on 256x256 crops).
# The paper's (2e-4 / 1e-6 at batch 1024, 2000 epochs) are in the "paper" preset.
_DEFAULT_LR = {"mlp": 2e-4, "doh": 2e-5}


def default_lr(parameterization: str) -> float:
    return _DEFAULT_LR.get(parameterization, 1e-4)


@dataclass
class FitConfig:
    """Training settings; every field has a CLI flag of the same name."""

    epochs: int = 300  # full passes over the samples
    batch_size: int = 8192
    lr: float | None = None  # None: default for the parameterization
    loss: str | None = None  # None: the signal's default (log10mse for images)
    betas: tuple[float, float] = (0.99, 0.999)  # D'OH supplement Table 1
    gamma: float = 0.999  # exponential LR decay per epoch
    warmup_epochs: int = 0  # linear LR warm-up
    time_budget: float | None = None  # seconds; stops after the epoch that crosses it
    seed: int = 0
    device: str = "cpu"
    progress: bool = True
    optimizer: str = "adam"  # "adam" | "sgd" | "sgd-inv-mse" (SGD with the step scaled by 1/MSE, seed 000 sec. 1.7)
    qat_quantizer: str | None = None  # quantization-aware training with this quantizer...
    qat_bits: int = 8  # ...at this bit depth (straight-through estimator)


@dataclass
class FitResult:
    epochs: int
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (epoch, mean loss, seconds)


def _validate(cfg: FitConfig) -> None:
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise InrzipError("epochs and batch size must be positive")
    if cfg.loss is not None and cfg.loss not in LOSSES:
        raise InrzipError(f"unknown loss {cfg.loss!r}; choose from {sorted(LOSSES)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise InrzipError(f"unknown optimizer {cfg.optimizer!r}; choose from {sorted(OPTIMIZERS)}")


def _adam(params: list[torch.Tensor], lr: float, cfg: "FitConfig") -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=cfg.betas)


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


def _lr_factor(cfg: FitConfig, epoch: int) -> float:
    warm = min(1.0, (epoch + 1) / cfg.warmup_epochs) if cfg.warmup_epochs > 0 else 1.0
    return warm * cfg.gamma ** epoch


def make_layers_fn(param: Parameterization, cfg: FitConfig) -> Callable[[], list]:
    """Layers for a training step: plain, or fake-quantized stored tensors for QAT."""
    if cfg.qat_quantizer is None:
        return param.layers
    q = get_quantizer(cfg.qat_quantizer)
    return lambda: param.layers_from({k: q.fake_quantize(v, cfg.qat_bits) for k, v in param.stored().items()})


def fit(signal: Signal, spec: NetworkSpec, param: Parameterization, cfg: FitConfig,
        on_epoch: Callable[[int, float], None] | None = None) -> FitResult:
    """Fit ``param`` so that the network matches ``signal``; returns timing and the loss history."""
    _validate(cfg)
    tune_allocator()
    device = torch.device(cfg.device)
    param.to(device)
    loss_fn = LOSSES[cfg.loss or signal.default_loss]
    lr = cfg.lr if cfg.lr is not None else default_lr(param.name)
    opt = OPTIMIZERS[cfg.optimizer]([p for p in param.parameters() if p.requires_grad], lr, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: _lr_factor(cfg, e))
    layers_fn = make_layers_fn(param, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    result, start = FitResult(0, 0.0), time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc="fitting", unit="epoch", disable=not cfg.progress, leave=False)
    for epoch in bar:
        total, n = 0.0, 0
        for inputs, targets in signal.batches(cfg.batch_size, gen, device):
            layers = layers_fn()
            pred = signal.predict(lambda x: forward(spec, layers, x), inputs)
            loss = loss_fn(pred, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            _step(opt, cfg, loss, [g["lr"] for g in opt.param_groups])
            total, n = total + float(loss.detach()), n + 1
        sched.step()
        mean = total / max(n, 1)
        if not math.isfinite(mean):
            raise InrzipError(f"training diverged at epoch {epoch + 1} (loss {mean}); lower --lr")
        elapsed = time.perf_counter() - start
        result.history.append((epoch + 1, mean, elapsed))
        result.epochs = epoch + 1
        bar.set_postfix(loss=f"{mean:.4g}")
        if on_epoch is not None:
            on_epoch(epoch + 1, mean)
        if cfg.time_budget is not None and elapsed >= cfg.time_budget:
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result
