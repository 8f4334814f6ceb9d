"""Fine-tuning at the file's quantization: how much of a fit trains the stored tensors against the levels their
file will store, at what rates, and against which grids (fixed ranges or learned steps). Both ``--bpp`` (after
``ratecontrol`` has chosen the file) and a fixed ``--bits`` end their fits this way (docs/rate.md, docs/fitting.md)."""

from __future__ import annotations

import math

import numpy as np

from .config import CompressConfig, FitConfig
from .errors import InrzipError
from .nets.parameterizations import parameterization_class
from .quant import FixedGrid, LearnedGrids, QTensor, get_quantizer

__all__ = ["FINETUNE", "FINETUNE_BITS", "FINETUNE_STEP_LR", "MIN_STEP_UPDATES", "FINETUNE_LATENT_LR",
           "FINETUNE_MLP_BITS", "FINETUNE_MARGIN", "finetune_share", "depth_finetune_share", "finetune_step_lr",
           "finetune_updates", "finetune_grids", "finalize_grids", "steps_note"]

FINETUNE = 0.03  # share of an MLP's fit spent training at its file's chosen quantization (docs/rate.md)
FINETUNE_BITS = 7  # the plan's bits when it is followed by fine-tuning and no --bits is given: a wider network
FINETUNE_STEP_LR = 3e-4  # Adam rate of the learned quantization steps while fine-tuning (docs/rate.md)
# By default the steps are learned only when the fine-tuning will make at least this many optimizer steps. Paired
# against fixed ranges on the Kodak subset: 120 s per file (144-240 steps) -0.01 dB at 0.3 bpp and level at 0.1;
# 300 s (240-288) +0.02; 600 s (about 500) +0.05; DIV2K at 600 epochs (396) +0.09 (docs/rate.md, "Learned ...").
MIN_STEP_UPDATES = 250
# A D'OH file's latent is fine-tuned against the file's levels at this fraction of the latent's own Adam rate:
# a step that small flips only the codes next to a level boundary, the ones whose rounding matters (docs/fitting.md)
FINETUNE_LATENT_LR = 0.01
# An MLP at a fixed depth is fine-tuned at its file's levels only up to this many bits: without the positional
# encoding an 8-bit MLP file is 2-5 dB under its float network, and the last 5% of the fit at the levels wins
# back 0.5-2.5 dB of it (docs/fitting.md, "An MLP's weights at its file's levels")
FINETUNE_MLP_BITS = 8
FINETUNE_MARGIN = 0.99  # the file is chosen within this share of the budget: fine-tuning moves codes, and size


def finetune_share(cfg: CompressConfig, kind_share: float = 0.0) -> float:
    """The share of a ``--bpp`` fit spent at the file's quantization (``cfg.finetune``, default ``FINETUNE`` for an
    MLP, the signal kind's ``kind_share`` for D'OH), not after QAT or with a PSNR target (those fits end on their
    own terms)."""
    share = _fraction((kind_share if _latent(cfg) else FINETUNE) if cfg.finetune is None else cfg.finetune)
    return 0.0 if cfg.qat or cfg.target_psnr is not None else share


def _fraction(share: float) -> float:
    if not 0.0 <= share < 1.0:
        raise InrzipError(f"--finetune must be a fraction in [0, 1), got {share}")
    return share


def depth_finetune_share(cfg: CompressConfig, kind_share: float) -> float:
    """The share of a fixed-depth fit (no ``--bpp``) spent training the stored tensors against their file's levels
    (``cfg.finetune``, else the signal kind's ``kind_share``): a D'OH latent at any depth, an MLP's weights at
    ``FINETUNE_MLP_BITS`` or fewer (at 16 bits its rounding costs nothing measurable), with a quantizer whose tables
    are ranges (minmax, distributional; not explicit or k-means), not after QAT or a rate term, nor with a PSNR
    target or a preset (``--preset paper`` is the papers' recipe, exactly)."""
    share = _fraction(kind_share if cfg.finetune is None else cfg.finetune)
    skip = (cfg.qat or cfg.target_psnr is not None or cfg.preset is not None or cfg.fit.rate_lambda
            or not get_quantizer(cfg.quantizer).ranges or cfg.parameterization is None
            or not (_latent(cfg) or cfg.bits <= FINETUNE_MLP_BITS))
    return 0.0 if skip else share


def finetune_step_lr(cfg: CompressConfig) -> float:
    """The rate at which fine-tuning trains each tensor's quantization range (``cfg.step_lr``, default
    ``FINETUNE_STEP_LR``; 0: the ranges the rate control chose stay fixed)."""
    rate = FINETUNE_STEP_LR if cfg.step_lr is None else cfg.step_lr
    if not (isinstance(rate, (int, float)) and 0.0 <= rate < 1.0):
        raise InrzipError(f"--step-lr must be a rate in [0, 1), got {rate}")
    return float(rate)


def finetune_updates(fit_epochs: int, fit_seconds: float, tail: FitConfig, samples: int) -> float:
    """Optimizer steps the fine-tuning ``tail`` will make: its epochs, or, when a time budget ends it, the epochs
    the fit before it ran in as many seconds."""
    epochs = tail.epochs if tail.time_budget is None else fit_epochs * tail.time_budget / max(fit_seconds, 1e-9)
    return epochs * math.ceil(samples / tail.batch_size)


def _latent(cfg: CompressConfig) -> bool:
    """The config's network stores a latent (D'OH); an unresolved config (no parameterization) names none."""
    return cfg.parameterization is not None and parameterization_class(cfg.parameterization).has_latent


def finetune_grids(tables: dict[str, QTensor], cfg: CompressConfig, lr: float, updates: float
                   ) -> dict[str, FixedGrid] | LearnedGrids:
    """The levels fine-tuning trains against, those of the chosen file: each tensor's bits, and its range learned
    (``LearnedGrids``, at ``finetune_step_lr`` where the weights' rate is ``lr``) or kept (a ``FixedGrid`` per
    tensor) at a step rate of 0, or by default when the fine-tuning makes fewer than ``MIN_STEP_UPDATES``
    ``updates`` (too few for the steps' noisy gradients to settle). A D'OH latent's ranges are always kept: learned
    ones lost to the fixed range on both crops measured (docs/fitting.md, "D'OH's latent at its file's levels")."""
    rate = finetune_step_lr(cfg)
    if rate and not _latent(cfg) and (cfg.step_lr is not None or updates >= MIN_STEP_UPDATES):
        return LearnedGrids(tables, rate / lr)
    return {k: FixedGrid(t) for k, t in tables.items()}


def finalize_grids(grids: dict[str, FixedGrid] | LearnedGrids, stored: dict[str, np.ndarray]) -> dict[str, QTensor]:
    """The fine-tuned tensors' codes on the grids they trained against."""
    if isinstance(grids, LearnedGrids):
        return grids.finalize(stored)
    return {k: grids[k].finalize(v) for k, v in stored.items()}


def steps_note(grids: dict[str, FixedGrid] | LearnedGrids, updates: float, cfg: CompressConfig) -> str:
    """What fine-tuning did with the tensors' steps (for the report): how far they moved, or why they stayed."""
    if isinstance(grids, LearnedGrids):
        moves = np.exp(grids.log_step_changes())
        return f", steps learned (x{moves.min():.3f} to x{moves.max():.3f})"
    gated = cfg.step_lr is None and updates < MIN_STEP_UPDATES and not _latent(cfg)
    return ", ranges kept" + (f" (about {updates:.0f} steps, under the {MIN_STEP_UPDATES} learning them needs)"
                              if gated else "")
