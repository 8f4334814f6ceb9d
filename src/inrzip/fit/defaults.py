"""The fitting defaults, in one table, and the one function that fills an unset ``FitConfig`` from them.

Order of precedence for each field left ``None``: the signal kind's ``fit_defaults`` (meshes fit with
batch 20000 for at most 10 minutes), then what the parameterization and the kind say (learning rate,
loss, LR decay over the run: a kind's ``final_lr_fraction`` before the parameterization's), then
``FIT_DEFAULTS``. ``inrzip.api.resolve`` calls this for every request
(CLI and Python alike); the trainer calls it too, so a direct ``fit()`` gets the same values.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Any

from ..config import FitConfig
from ..errors import InrzipError
from ..nets.parameterizations import Parameterization
from ..signals.base import Signal
from .engine import PRECISIONS, resolve_engine
from .losses import LOSSES
from .optim import OPTIMIZERS

__all__ = ["FIT_DEFAULTS", "BUDGET_EPOCHS", "resolve_fit", "check_fit", "finetune_config"]

# Generic defaults (images): 300 epochs of batch 8192; the rate, its decay and Adam's betas come from the
# parameterization (docs/fitting.md).
FIT_DEFAULTS: dict[str, Any] = {
    "epochs": 300, "batch_size": 8192, "time_budget": None, "seed": 0,
    "device": "cpu", "progress": True, "guard": True, "optimizer": "adam", "qat_quantizer": None, "qat_bits": 8,
    "qat_refresh": 1, "qat_start": 0.0, "rate_lambda": 0.0, "rate_bits": 8, "engine": "auto", "threads": None, "precision": "fp32",
}
# Under a time budget with no epochs asked for (here or by the signal kind), the clock ends the fit and the
# schedules are planned over the budget: a 300-epoch cap left a third of a 600 s budget unused on kodim03.
BUDGET_EPOCHS = 1_000_000


def resolve_fit(cfg: FitConfig, signal: Signal, param: Parameterization) -> FitConfig:
    """``cfg`` with every unset field filled in (see the module docstring); set fields are kept as given."""
    values = {f.name: getattr(cfg, f.name) for f in fields(FitConfig)}
    for name, value in values.items():
        if value is None and name in signal.fit_defaults:
            values[name] = signal.fit_defaults[name]
    if values["epochs"] is None and values["time_budget"] is not None:
        if values["gamma"] not in (None, 1.0):  # gamma^(planned epochs) with a million planned: the rate gone at once
            raise InrzipError(f"--gamma {values['gamma']:g} is a decay per epoch of a planned run, and --time-budget "
                              "alone plans none: give --epochs too (the clock may still end the fit first), or leave "
                              "--gamma out and the rate decays over the budget")
        values["epochs"] = BUDGET_EPOCHS
    if values["optimizer"] is None and not (values["qat_quantizer"] or values["rate_lambda"]):  # float fits only
        values["optimizer"] = param.default_optimizer(signal.default_optimizers)
    # D'OH on its weights: an MLP's schedule, and a smaller batch for a small signal (where the kind sets none):
    # more steps in its few per epoch (a 256x256 crop gains, a 768x512 photograph does not; docs/fitting.md)
    by_optimizer = param.optimizer_defaults.get(values["optimizer"] or FIT_DEFAULTS["optimizer"], {})
    if values["batch_size"] is None and "small_batch" in by_optimizer:
        batch, up_to = by_optimizer["small_batch"]
        values["batch_size"] = batch if signal.num_samples() <= up_to else None
    for name, value in FIT_DEFAULTS.items():
        if values[name] is None:
            values[name] = value
    if values["lr"] is None:
        values["lr"] = (signal.optimizer_lrs.get(values["optimizer"]) or by_optimizer.get("lr")
                        or param.default_lr(signal.default_lrs))
    if values["betas"] is None:
        values["betas"] = by_optimizer.get("betas", param.default_betas)
    if values["warmup_epochs"] is None:
        values["warmup_epochs"] = by_optimizer.get("warmup_epochs", param.default_warmup_epochs)
    if values["loss"] is None:
        values["loss"] = signal.default_loss
    if values["gamma"] is None:  # the LR ends at the kind's (else the parameterization's) fraction of its start,
        fraction = signal.fit_defaults.get("final_lr_fraction",  # whatever the length
                                           by_optimizer.get("final_lr_fraction", param.final_lr_fraction))
        values["gamma"] = fraction ** (1.0 / max(int(values["epochs"]), 1))
    values["betas"] = tuple(values["betas"])
    out = replace(cfg, **values)
    check_fit(out)
    return out


SEED_LIMIT = 1 << 62  # the largest |integer| an .inr header stores (bitstream/container.py)


def check_seed(seed: int | None) -> None:
    """A seed a file's header can hold (|seed| <= 2^62); checked before a network is built from it."""
    if seed is not None and not (isinstance(seed, int) and -SEED_LIMIT <= seed <= SEED_LIMIT):
        raise InrzipError(f"--seed must be an integer of at most 2^62 in size, got {seed}")


def check_fit(cfg: FitConfig) -> None:
    """One-line errors for settings no fit can use."""
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise InrzipError("epochs and batch size must be positive")
    if not cfg.lr > 0 or not 0 < cfg.gamma <= 1:
        raise InrzipError(f"learning rate must be positive and gamma in (0, 1], got lr {cfg.lr}, gamma {cfg.gamma}")
    if cfg.time_budget is not None and not cfg.time_budget > 0:
        raise InrzipError(f"time budget must be positive seconds, got {cfg.time_budget}")
    if not (math.isfinite(cfg.rate_lambda) and cfg.rate_lambda >= 0):
        raise InrzipError(f"--rate-lambda must be a finite number >= 0, got {cfg.rate_lambda}")
    if not 1 <= cfg.rate_bits <= 16:
        raise InrzipError(f"the rate term's bit depth must be 1..16, got {cfg.rate_bits}")
    if not 0.0 <= cfg.qat_start <= 1.0 or cfg.qat_refresh < 1:
        raise InrzipError("qat_start must be a fraction in [0, 1] and qat_refresh at least 1")
    if cfg.betas is not None and not all(0.0 <= b < 1.0 for b in cfg.betas):
        raise InrzipError(f"--betas must be two numbers in [0, 1), e.g. 0.9 0.999, got {' '.join(map(str, cfg.betas))}")
    if cfg.warmup_epochs is not None and cfg.warmup_epochs < 0:
        raise InrzipError(f"--warmup-epochs must be 0 or more, got {cfg.warmup_epochs}")
    check_seed(cfg.seed)
    LOSSES.get(cfg.loss)
    OPTIMIZERS.get(cfg.optimizer)
    if cfg.optimizer == "adam-weights" and (cfg.qat_quantizer is not None or cfg.rate_lambda):
        raise InrzipError("--optimizer adam-weights trains the weights of a float fit; quantization-aware training "
                          "and a rate term act on the stored latent: use --optimizer adam")
    resolve_engine(cfg.engine)
    if cfg.precision not in PRECISIONS:
        raise InrzipError(f"unknown precision {cfg.precision!r}; choose from {sorted(PRECISIONS)}")


def finetune_config(cfg: FitConfig, share: float, lr_scale: float = 0.2) -> FitConfig:
    """A second stage after the resolved fit ``cfg``: ``share`` of its length (time budget, else epochs), no
    warm-up, starting at ``lr_scale`` x the rate the fit ended on and decaying as a fit does (to the
    parameterization's final fraction of that). Why so low: the weights are fitted, and against fixed
    quantization levels a step that moves a value across a level boundary moves its output by a whole level;
    at the fit's own final rate the weights flip between levels and the quantized loss rises (docs/rate.md)."""
    end = cfg.lr * float(cfg.gamma) ** cfg.epochs
    length = ({"time_budget": cfg.time_budget * share} if cfg.time_budget is not None else
              {"epochs": max(1, round(cfg.epochs * share))})
    return replace(cfg, lr=end * lr_scale, gamma=None, warmup_epochs=0, qat_quantizer=None, **length)
