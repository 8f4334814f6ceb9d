"""Encoding as a user asks for it: at fixed bit depths (``encode_bits``) or at a rate (``encode_at_rate``), with
the fine-tuning at the file's quantization that both end with, and the ``encode`` / ``compress`` entry points."""

from __future__ import annotations

import math
from dataclasses import asdict, fields, replace
from typing import Any

from .. import finetune, ratecontrol
from ..config import CompressConfig, FitConfig
from ..errors import InrzipError
from ..fit import finetune_config, fit_many, resolve_fit
from ..fit.defaults import BUDGET_EPOCHS
from ..nets.parameterizations import parameterization_class
from ..quant import FixedGrid, LearnedGrids, QTensor, get_quantizer
from ..records import Encoded, Fitted, Prepared
from ..signals import Signal
from .core import (
    Source,
    _build,
    _finish,
    _header,
    _resolve_network,
    _stored,
    load,
    network_spec,
    prepare,
    resolve,
    train,
    write,
)

__all__ = ["encode_bits", "encode_at_rate", "encode_many", "encode", "compress"]

_FIT_FIELDS = {f.name for f in fields(FitConfig)}


def encode_bits(source: Source, cfg: CompressConfig, bits: list[int],
                signal_options: dict[str, Any] | None = None) -> list[Encoded]:
    """One fit, one file per bit depth (post-training quantization); with ``cfg.bpp``, the one file of
    ``encode_at_rate``."""
    signal = source if isinstance(source, Signal) else load(source, **(signal_options or {}))
    if cfg.bpp is not None:
        return [encode_at_rate(signal, cfg)]
    share = depth_share(signal, cfg, bits)
    if share:
        cfg = replace(cfg, bits=cfg.bits if bits[0] is None else bits[0])
        short, whole = _shortened(signal, cfg, 1.0 - share)
        return [_depth_finetuned(signal, train(signal, short), share, whole)]
    fitted = train(signal, cfg)
    encs = [write(fitted, b) for b in bits]
    if cfg.finetune:  # asked for, and nothing here to fine-tune: say so rather than ignore it
        for enc in encs:
            enc.report["fit_events"].append(UNUSED_FINETUNE)
    return encs


UNUSED_FINETUNE = ("--finetune was not used: at a fixed --bits it fine-tunes an image file written at one depth (D'OH "
                   "at any depth, an MLP at 8 bits or fewer) with minmax or distributional, without --qat, "
                   "--rate-lambda, --target-psnr or --preset")


def depth_share(signal: Signal, cfg: CompressConfig, bits: list[int | None]) -> float:
    """The share of the fit ``_depth_finetuned`` takes (``finetune.depth_finetune_share``); 0 when several
    depths are written from one fit (post-training quantization: one fit cannot train for each depth's levels) or
    for a pair of networks (NeRF's coarse + fine: not measured)."""
    if len(bits) != 1 or signal.networks > 1:
        return 0.0
    resolved = resolve(replace(cfg, bits=bits[0] if bits[0] is not None else cfg.bits), signal)
    return finetune.depth_finetune_share(resolved, signal.depth_finetune)


def _depth_finetuned(signal: Signal, fitted: Fitted, share: float, whole: FitConfig) -> Encoded:
    """Train the stored tensors on against the levels their file would store (``FixedGrid`` per stored tensor,
    straight-through) for ``share`` / (1 - share) of the fit at ``_tail``'s rate (a D'OH latent: ``FINETUNE_LATENT_LR``
    of its own Adam rate), and write them on those levels; the better decoded file of before and after wins.

    Why: rounding every value to its nearest level is not the best file at that depth. Each entry of a D'OH ``z``
    feeds every layer through ``B``, so its rounding errors add up in the output (0.3-0.7 dB on 256 crops); an
    MLP's first layer turns raw coordinates into phases through omega = 30, so a level's step there is a large phase
    error (2-5 dB lost at 8 bits without the encoding). Small steps move the values next to a boundary across it,
    in the direction the loss asks for."""
    before = write(fitted)
    cfg = fitted.config
    quantizer = get_quantizer(cfg.quantizer)
    grids = {k: FixedGrid(quantizer.quantize(v.ravel(), cfg.bits)) for k, v in _stored(fitted.param).items()}
    what = "the latent" if fitted.param.has_latent else "the weights"
    tuned, epochs, brief = _trained_on(signal, fitted, _tail(signal, fitted, share, whole), grids, whole,
                                       f"fine-tuned {what} {{}} epochs at the file's levels")
    after = write(tuned, qtensors=finetune.finalize_grids(grids, _stored(tuned.param)))
    metric = signal.quality_metric
    best = after if after.report[metric] >= before.report[metric] else before
    return _kept(best, tuned, whole, brief, f"fine-tuning {what} {epochs} epochs at the file's levels: "
                                            f"{before.report[metric]:.3f} -> {after.report[metric]:.3f} ({metric})")


def _trained_on(signal: Signal, fitted: Fitted, tail: FitConfig, grids: dict[str, FixedGrid] | LearnedGrids,
                whole: FitConfig, brief: str) -> tuple[Fitted, int, str]:
    """``fitted`` trained on for ``tail`` against ``grids`` (in place), scored and recorded as the ``whole`` fit; its
    fine-tuning epochs and the note (``brief`` with them) its record carries."""
    result = fit_many([signal], fitted.spec, [fitted.param], tail, fixed=[grids])[0]
    note = brief.format(result.epochs)
    merged = fitted.result.then(result, note)
    return _finish(signal, Prepared(replace(fitted.config, fit=whole), fitted.spec, fitted.param), merged), \
        result.epochs, note


def _kept(best: Encoded, tuned: Fitted, whole: FitConfig, brief: str, detailed: str) -> Encoded:
    """The file kept after fine-tuning, whichever stage's: one note for the fine-tuning (``detailed``, with both
    files' quality, replaces the ``brief`` one of the record), and the whole fit's epochs, seconds and settings."""
    best.report["fit_events"] = [e for e in best.report["fit_events"] if e != brief] + [detailed]
    best.report.update(epochs=tuned.result.epochs, fit_seconds=tuned.result.seconds)
    best.report["config"]["fit"] = asdict(whole)  # the fit the user asked for, not its first stage
    return best


def encode_at_rate(signal: Signal, cfg: CompressConfig) -> Encoded:
    """The best file at or under ``cfg.bpp`` bits per pixel: the network sized for the rate, then the bits and
    range clipping of the quantization fitted to it (``ratecontrol``; docs/rate.md)."""
    if not signal.rate_report(8, 8):
        raise InrzipError(f"--bpp is for images; a {signal.kind} file's size is set by --arch, --latent and --bits")
    budget = ratecontrol.target_bytes(cfg.bpp, signal.num_samples())
    if cfg.parameterization is None and cfg.preset is None:
        cfg = replace(cfg, **{k: v for k, v in ratecontrol.default_kind(cfg.bpp).items()
                              if getattr(cfg, k) is None})
    net = replace(_resolve_network(cfg, signal), fit=cfg.fit)  # the fit is resolved for the network planned below
    tail = finetune.finetune_share(net, signal.depth_finetune)
    if tail and cfg.bits is None and not parameterization_class(net.parameterization).has_latent:
        net = replace(net, bits=finetune.FINETUNE_BITS)
    planned = ratecontrol.plan(net, lambda c: network_spec(signal, c), budget, keep_depth=cfg.arch is not None)
    _check_floor(signal, planned, budget, cfg.bpp)
    short, whole = _shortened(signal, planned, 1.0 - tail) if tail else (planned, None)
    fitted = train(signal, short)
    qat = write(fitted) if fitted.config.fit.qat_quantizer is not None else None  # the quantization it saw
    enc, tables = (qat, {}) if qat is not None and qat.sizes.file_bytes <= budget else \
        _choose_at_rate(signal, fitted, planned.bits, int(budget * finetune.FINETUNE_MARGIN) if tail else budget)
    if qat is not None and enc is not qat:  # the plan counts raw values, not the header and the tables
        enc.report["fit_events"].append(f"the QAT file ({qat.sizes.file_bytes} B) was over the {budget} B the rate "
                                        "allows, so the trained network was quantized to the rate after training")
    if tail:
        enc = _finetuned(signal, fitted, tables, tail, budget, enc, whole)
    enc.report.update(target_bpp=cfg.bpp, planned_arch=planned.arch, planned_latent=planned.latent_dim)
    if enc.sizes.file_bytes < 0.95 * budget:
        enc.report["fit_events"].append(f"the file is {enc.sizes.file_bytes} B, more than 5% under the "
                                        f"{budget} B the rate allows")
    return enc


def _check_floor(signal: Signal, planned: CompressConfig, budget: int, bpp: float) -> None:
    """Refuse, before fitting, a rate that no file of the planned network can meet (``ratecontrol.smallest_file``),
    naming the rate that would do; a rate over the floor but under what the fitted values need is refused after the
    fit, by ``ratecontrol.choose``."""
    spec, param = _build(signal, planned)  # the stored tensors' shapes and the header: no fit is resolved
    floor = ratecontrol.smallest_file(_stored(param), _header(signal, spec, param, "distributional", 2))
    if floor > budget:
        pixels = signal.num_samples()
        least = math.ceil(floor * 8 / pixels * 1000) / 1000
        raise InrzipError(f"--bpp {bpp:g} allows {budget} B for this image of {pixels} pixels, and no file of the "
                          f"network it plans ({planned.parameterization} {planned.arch}) is under {floor} B; "
                          f"raise --bpp (that network needs at least {least:g})")


def _choose_at_rate(signal: Signal, fitted: Fitted, bits: int, budget: int) -> tuple[Encoded, dict[str, QTensor]]:
    """The best post-training quantization of ``fitted`` within ``budget`` bytes (``ratecontrol.fit_quantization``:
    bits and clipping per file, bits per tensor for networks without a latent), every candidate decoded once."""
    written: list[Encoded] = []

    def quality_at(tables: dict[str, QTensor]) -> float:
        written.append(write(fitted, ratecontrol.main_bits(tables), "distributional", qtensors=tables))
        return written[-1].report[signal.quality_metric]

    has_latent = parameterization_class(fitted.config.parameterization).has_latent
    stored = _stored(fitted.param)  # once: the search, the proxy and the writes all read the same tensors
    header_at = lambda b: _header(signal, fitted.spec, fitted.param, "distributional", b)  # noqa: E731
    proxy = None if has_latent else ratecontrol.proxy_distortion(signal, fitted.spec, fitted.param.name, stored,
                                                                 header_at(8))
    best, tables = ratecontrol.fit_quantization(stored, header_at, bits, budget, quality_at, proxy)
    enc = max(written, key=lambda e: e.report[signal.quality_metric])
    enc.report["clip_k"] = None if best.k != best.k else best.k  # NaN (per-tensor clipping): none to show
    enc.report["tensor_bits"] = {n: p["bits"] for n, p in enc.sizes.per_tensor.items()}
    return enc, tables


def _shortened(signal: Signal, cfg: CompressConfig, share: float) -> tuple[CompressConfig, FitConfig]:
    """``cfg`` whose fit (time budget, else epochs) is ``share`` of what it asks for (its schedule follows), and
    the whole fit resolved: what the report shows, whichever stage's file is kept."""
    fit = prepare(signal, cfg).config.fit
    first = max(1, min(fit.epochs - 1, round(fit.epochs * share)))  # at least one epoch left to fine-tune
    if fit.time_budget is None:
        return replace(cfg, fit=replace(cfg.fit, epochs=first)), fit
    capped = fit.epochs < BUDGET_EPOCHS  # --epochs with --time-budget: a cap the two stages share too
    return replace(cfg, fit=replace(cfg.fit, time_budget=fit.time_budget * share,
                                    epochs=first if capped else cfg.fit.epochs)), fit


def _tail(signal: Signal, fitted: Fitted, share: float, whole: FitConfig) -> FitConfig:
    """The fine-tuning's fit: ``share`` / (1 - share) of the first stage's (``finetune_config``; with epochs, those
    the two stages were asked for share), from 0.2x the rate the fit ended on; a D'OH latent at
    ``FINETUNE_LATENT_LR`` of its own Adam rate instead (whatever trained the weights before: fixed levels are
    trained through the latent, ``fit.trainer``)."""
    tail = finetune_config(fitted.config.fit, share / (1.0 - share))
    if whole.epochs < BUDGET_EPOCHS:  # the two stages' epochs add up to those asked for (the clock may end either)
        tail = replace(tail, epochs=max(1, whole.epochs - fitted.config.fit.epochs))
    if not fitted.param.has_latent:
        return tail
    latent = resolve_fit(replace(tail, optimizer="adam", lr=None, betas=None, gamma=None), signal, fitted.param)
    return replace(latent, lr=latent.lr * finetune.FINETUNE_LATENT_LR)


def _finetuned(signal: Signal, fitted: Fitted, tables: dict[str, QTensor], share: float, budget: int,
               before: Encoded, whole: FitConfig) -> Encoded:
    """Train ``fitted`` on against the levels of its chosen file (``finetune.finetune_grids``: each tensor's bits
    kept, its range learned; a D'OH latent's ranges kept) for ``share`` / (1 - share) of its fit at ``_tail``'s rate,
    and write it on those levels; a file over the budget is quantized to the rate afresh. The better decoded file
    of before and after wins."""
    tail = _tail(signal, fitted, share, whole)
    updates = finetune.finetune_updates(fitted.result.epochs, fitted.result.seconds, tail, signal.num_samples())
    grids = finetune.finetune_grids(tables, fitted.config, tail.lr, updates)
    tuned, epochs, brief = _trained_on(signal, fitted, tail, grids, whole,
                                       "fine-tuned {} epochs at the file's quantization")
    stored = _stored(tuned.param)
    after = write(tuned, ratecontrol.main_bits(tables), "distributional",
                  qtensors=finetune.finalize_grids(grids, stored))
    on_levels = after.sizes.file_bytes  # the drift from ``before``'s size is what FINETUNE_MARGIN must cover
    if on_levels > budget:
        after = _choose_at_rate(signal, tuned, ratecontrol.main_bits(tables), budget)[0]
        after.report["fit_events"].append(f"the fine-tuned file ({on_levels} B) was over the {budget} B the rate allows, "
                                          "so the fine-tuned network was quantized to the rate afresh")
    else:
        after.report.update(clip_k=before.report["clip_k"], tensor_bits=before.report["tensor_bits"])
    metric = signal.quality_metric
    best = after if after.report[metric] >= before.report[metric] or before.sizes.file_bytes > budget else before
    return _kept(best, tuned, whole, brief, f"fine-tuning {epochs} epochs at the file's quantization: "
                                            f"{before.report[metric]:.2f} -> {after.report[metric]:.2f} ({metric}); "
                                            f"{before.sizes.file_bytes} -> {on_levels} B on its levels"
                                            f"{finetune.steps_note(grids, updates, fitted.config)}")


def encode_many(signals: Signal | list[Signal], cfgs: list[CompressConfig],
                bits: list[list[int]]) -> list[list[Encoded]]:
    """``encode_bits(signals[k], cfgs[k], bits[k])`` for every k, with the K fits in one pass (``fit_many``).

    For sweeps: one signal, or K signals of one kind and size (K images); the configs must share one
    architecture and the settings that fix the batches (``inrzip.fit.SHARED_SETTINGS``); lr, latent size,
    QAT may differ. Each report's ``fit_seconds`` is the pass's time divided by K, the cost of one model."""
    signals = signals if isinstance(signals, list) else [signals] * len(cfgs)
    prepared = [prepare(s, c) for s, c in zip(signals, cfgs)]
    spec = prepared[0].spec
    if any(p.spec != spec for p in prepared):
        raise InrzipError("encode_many: the configs give different networks; fit them separately")
    results = fit_many(signals, spec, [p.param for p in prepared], [p.config.fit for p in prepared])
    out = []
    for signal, prep, b, result in zip(signals, prepared, bits, results):
        result.seconds /= len(cfgs)
        fitted = _finish(signal, prep, result)
        out.append([write(fitted, depth) for depth in b])
    return out


def _with_overrides(cfg: CompressConfig, overrides: dict[str, Any]) -> CompressConfig:
    top = {k: v for k, v in overrides.items() if k not in _FIT_FIELDS and k != "fit"}
    sub = {k: v for k, v in overrides.items() if k in _FIT_FIELDS}
    unknown = set(top) - {f.name for f in fields(CompressConfig)}
    if unknown:
        raise InrzipError(f"unknown options {sorted(unknown)}; see inrzip.CompressConfig and inrzip.FitConfig")
    return replace(cfg, **top, fit=replace(overrides.get("fit", cfg.fit), **sub))


def encode(source: Source, cfg: CompressConfig | None = None,
           signal_options: dict[str, Any] | None = None, **overrides: Any) -> Encoded:
    """Fit ``source`` and return the file with its report (PSNR/SSIM or IoU of the decoded file, sizes).
    ``overrides`` are ``CompressConfig`` or ``FitConfig`` fields, e.g. ``bits=6, epochs=100``."""
    cfg = _with_overrides(cfg or CompressConfig(), overrides)
    return encode_bits(source, cfg, [cfg.bits] if cfg.bits is not None else [None], signal_options)[0]


def compress(source: Source, cfg: CompressConfig | None = None, **overrides: Any) -> bytes:
    """Fit, quantize and entropy-code ``source``; returns the bytes of an ``.inr`` file."""
    return encode(source, cfg, **overrides).data
