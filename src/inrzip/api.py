"""Public Python API: ``compress`` / ``decompress`` and the steps behind them.

    >>> data = inrzip.compress("kodim23.png", arch="28x9", latent_ratio=0.6, bits=8)
    >>> image = inrzip.decompress(data, scale=2)

The steps, for tools built on top (the CLI, ``bench``, ``experiments``, ``benchmarks``):

- ``resolve(config, signal)``: the one place defaults are applied (signal kind, parameterization, preset);
  the command line and Python give the same fit for the same request;
- ``prepare`` -> network spec and initial parameters; ``train`` -> a ``Fitted`` network;
- ``write(fitted, bits, quantizer)``: the one "encode, decode, score" path: quantize, entropy-code, write
  the file, decode its bytes and measure what a user gets. One fit can be written at many bit depths and
  with any quantizer (post-training quantization), which is how the papers sweep rate-distortion.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import ratecontrol
from .bitstream.header import network_header
from .bitstream.pipeline import pack, peek, unpack
from .config import CompressConfig, FitConfig
from .errors import InrzipError
from .fit import FitResult, finetune_config, fit_many, resolve_fit
from .fit.runtime import resolve_device
from .fit.target import TargetCheck
from .limits import DEFAULT_LIMITS, Limits
from .nets.inits import apply_init
from .nets.networks import Layers, NetworkField, NetworkSpec, param_count, parse_arch, weight_count
from .nets.parameterizations import Parameterization, make_parameterization, parameterization_class
from .nets.stacked import Stacked
from .presets import PRESETS, apply_preset
from .quant import QTensor, check_bits, get_quantizer
from .records import Encoded, Fitted, Prepared
from .signals import Field, Signal, load_signal, signal_class

__all__ = ["CompressConfig", "FitConfig", "Limits", "DEFAULT_LIMITS", "Encoded", "Fitted", "Prepared", "PRESETS", "NETWORK_DEFAULTS", "resolve",
           "prepare", "train", "write", "compress", "decompress", "encode", "encode_bits", "encode_many", "decode",
           "decoded_layers", "info", "load", "field_of"]

# Network defaults that do not depend on the signal kind (the kind's own are attributes of its class).
NETWORK_DEFAULTS: dict[str, Any] = {"latent_ratio": 0.6, "omega": 30.0, "pe_freqs": 10, "pe_band": "nyquist",
                                    "bits": 8, "quantizer": "minmax", "qat": False}

_FIT_FIELDS = {f.name for f in fields(FitConfig)}


def load(source: str | Path, **signal_options: Any) -> Signal:
    """Read a source (image, mesh, NeRF scene folder) as a signal; options such as ``resolution``, ``size``."""
    return load_signal(source, **signal_options)


def _resolve_network(cfg: CompressConfig, signal: Signal) -> CompressConfig:
    """Every network and storage field set: the user's, else the preset's, else the kind's, else the default."""
    param_name = cfg.parameterization or signal.default_parameterization
    if cfg.preset is not None:
        cfg = apply_preset(cfg, signal.kind, param_name)
    values = {k: v if (v := getattr(cfg, k)) is not None else NETWORK_DEFAULTS[k] for k in NETWORK_DEFAULTS}
    pe = cfg.pe if cfg.pe is not None else (parameterization_class(param_name).default_pe or signal.default_pe)
    fit = cfg.fit
    if values["qat"]:
        fit = replace(fit, qat_quantizer=values["quantizer"], qat_bits=values["bits"])
    if fit.rate_bits is None:
        fit = replace(fit, rate_bits=values["bits"])
    check_bits(values["bits"])
    get_quantizer(values["quantizer"])
    if not (isinstance(values["omega"], (int, float)) and 0 < values["omega"] < float("inf")):
        raise InrzipError(f"--omega must be a positive number, got {values['omega']!r}")
    return replace(cfg, **values, parameterization=param_name, arch=cfg.arch or signal.default_arch,
                   activation=cfg.activation or signal.default_activation, pe=bool(pe and not signal.encodes_inputs),
                   doh_init=cfg.doh_init or signal.default_doh_init, fit=fit)


# pe_band -> the fraction of the Nyquist rate it keeps to (None: the signal kind's ``band_cap``)
PE_CAPS: dict[str, float | None] = {"nyquist": None, "half": 0.5, "folded": 1.0}


def _pe(signal: Signal, cfg: CompressConfig) -> tuple[int, tuple[int, ...], float]:
    """(frequencies per axis, grid, cap) of the positional encoding: with ``pe_band`` 'folded' a sampled signal's
    octave frequencies are folded to their aliases on its grid (``folded_harmonics``): the same features at the
    samples, none above the grid's Nyquist rate between them; 'half' / 'nyquist' also lower those above half /
    the kind's ``band_cap`` of it (images a quarter); 'full' is the octave encoding (grid empty)."""
    if not cfg.pe or cfg.pe_freqs <= 0:
        return 0, (), 1.0
    grid, cap = signal.sample_grid() if cfg.pe_band in PE_CAPS else None, PE_CAPS.get(cfg.pe_band)
    return (cfg.pe_freqs, (), 1.0) if grid is None else (cfg.pe_freqs, tuple(grid), cap or signal.band_cap)


def _build(signal: Signal, cfg: CompressConfig) -> tuple[NetworkSpec, Parameterization]:
    """Network spec and initial parameters of a network-resolved config (cheap: D'OH's B comes later)."""
    width, hidden = parse_arch(cfg.arch)
    spec = NetworkSpec(signal.in_features, signal.out_features, width, hidden, cfg.activation, float(cfg.omega),
                       *_pe(signal, cfg))
    if weight_count(spec) > DEFAULT_LIMITS.max_weights:
        raise InrzipError(f"--arch {cfg.arch} has {weight_count(spec)} weights, over the {DEFAULT_LIMITS.max_weights} "
                          "a decoder accepts by default; choose a smaller --arch")
    seed = cfg.fit.seed if cfg.fit.seed is not None else 0
    kwargs = {"seed": seed, "latent_dim": cfg.latent_dim, "latent_ratio": cfg.latent_ratio, "init": cfg.doh_init}
    param = (make_parameterization(cfg.parameterization, spec, **kwargs) if signal.networks == 1 else
             Stacked(spec, cfg.parameterization, signal.networks, **kwargs))  # NeRF's coarse + fine pair
    if cfg.residual and not cfg.init:
        raise InrzipError("--residual needs --init NAME, the init the stored offsets are from")
    if cfg.init:  # a meta-learned start (nets/inits.py); an error on a network it does not fit
        apply_init(param, cfg.init, residual=bool(cfg.residual))
    stored = sum(int(t.numel()) for t in param.stored().values())
    work = param.generator_work(spec, param.header())
    if stored > DEFAULT_LIMITS.max_params or work > DEFAULT_LIMITS.max_generator_work:
        raise InrzipError(f"this network stores {stored} values and regenerates {work} generator entries, over what a "
                          "decoder accepts by default; choose a smaller --arch or --latent")
    return spec, param


def prepare(signal: Signal, cfg: CompressConfig | None = None) -> Prepared:
    """Resolve ``cfg`` on ``signal`` (every default filled in) and build the network it asks for."""
    net = _resolve_network(cfg or CompressConfig(), signal)
    spec, param = _build(signal, net)
    fit = resolve_fit(net.fit, signal, param)
    fit = replace(fit, device=str(resolve_device(fit.device)))
    return Prepared(replace(net, fit=fit), spec, param)


def resolve(cfg: CompressConfig, signal: Signal) -> CompressConfig:
    """``cfg`` with every default applied for ``signal``: what ``encode`` will do, field by field."""
    return prepare(signal, cfg).config


def field_of(spec: NetworkSpec, layers: Layers, device: torch.device | str = "cpu") -> Field:
    """The network as a function of coordinates (inference), on ``device``."""
    layers = [(w.detach().to(device), b.detach().to(device)) for w, b in layers]
    return NetworkField(spec, layers)


def _finish(signal: Signal, prep: Prepared, result: FitResult) -> Fitted:
    """Score the float network where it was trained, then move it to the CPU for writing."""
    device = next(prep.param.parameters()).device
    float_metrics = signal.evaluate(field_of(prep.spec, prep.param.layers(), device), device=device)
    prep.param.cpu()
    return Fitted(signal, prep.spec, prep.param, prep.config, result, float_metrics)


def train(source: str | Path | Signal, cfg: CompressConfig | None = None,
          signal_options: dict[str, Any] | None = None) -> Fitted:
    """Fit the network ``cfg`` asks for to ``source`` (until ``target_psnr`` is reached, when one is set)."""
    signal = source if isinstance(source, Signal) else load(source, **(signal_options or {}))
    prep = prepare(signal, cfg)
    target = _target_check(signal, prep) if prep.config.target_psnr is not None else None
    result = fit_many([signal], prep.spec, [prep.param], prep.config.fit, target)[0]
    if target is not None:
        result.events.append(target.summary())
    return _finish(signal, prep, result)


def _target_check(signal: Signal, prep: Prepared) -> TargetCheck:
    if signal.quality_metric != "psnr":
        raise InrzipError(f"--target-psnr needs a signal scored by PSNR; {signal.kind} is scored by "
                          f"{signal.quality_metric}")
    return TargetCheck(lambda: _decoded_quality(signal, prep), prep.config.target_psnr)


def _decoded_quality(signal: Signal, prep: Prepared) -> float:
    """The quality ``write`` would report for the network as it is now (its stored tensors quantized at the
    config's bits, written and decoded)."""
    cfg = prep.config
    data, _, _ = pack(_header(signal, prep.spec, prep.param, cfg.quantizer, cfg.bits), _stored(prep.param),
                      cfg.quantizer, cfg.bits)
    _, dspec, layers = unpack(data)
    return signal.evaluate(field_of(dspec, layers))[signal.quality_metric]


def _qat_tensors(f: Fitted, quantizer: str, bits: int, stored: dict[str, np.ndarray]) -> dict[str, QTensor] | None:
    """The tables QAT trained with, when the file is written at the quantizer and depth training used."""
    fit = f.config.fit
    if not f.result.qat_states or fit.qat_quantizer != quantizer or fit.qat_bits != bits:
        return None
    return {k: f.result.qat_states[k].finalize(v.ravel()) for k, v in stored.items()}


def write(f: Fitted, bits: int | None = None, quantizer: str | None = None, qat_tables: bool = True,
          qtensors: dict[str, QTensor] | None = None) -> Encoded:
    """Quantize ``f`` (at ``bits`` with ``quantizer``; default: its config's), write the file, decode the bytes
    and score them: the report is what a user who decodes the file gets. After QAT at this quantizer and
    depth the file keeps the tables training saw, unless ``qat_tables`` is False (a fresh quantization);
    ``qtensors`` gives the quantization outright (e.g. a quantizer with non-default options)."""
    bits = f.config.bits if bits is None else bits
    quantizer = quantizer or f.config.quantizer
    check_bits(bits)
    t0 = time.perf_counter()
    header = _header(f.signal, f.spec, f.param, quantizer, bits)
    stored = _stored(f.param)
    tables = qtensors or (_qat_tensors(f, quantizer, bits, stored) if qat_tables else None)
    data, _, sizes = pack(header, stored, quantizer, bits, tables)
    _, dspec, layers = unpack(data)
    metrics = f.signal.evaluate(field_of(dspec, layers))
    config = asdict(replace(f.config, bits=bits, quantizer=quantizer))
    report = {
        "signal": f.signal.kind, "bits": bits, "quantizer": quantizer, **metrics,
        **{f"float_{k}": v for k, v in f.float_metrics.items()},
        "file_bytes": sizes.file_bytes, "estimated_bytes": sizes.estimated_bytes,
        "bzip2_pickle_bytes": sizes.bzip2_pickle_bytes, "stored_values": sizes.stored_values,
        **f.signal.rate_report(sizes.file_bytes, sizes.estimated_bytes),
        "target_params": param_count(f.spec), "epochs": f.result.epochs, "fit_seconds": f.result.seconds,
        "fit_events": list(f.result.events),
        "encode_seconds": time.perf_counter() - t0, "config": config,
    }
    return Encoded(data, report, sizes)


def _header(signal: Signal, spec: NetworkSpec, param: Parameterization, quantizer: str, bits: int) -> dict[str, Any]:
    return {**network_header(spec, param, quantizer, bits, signal.kind), **signal.meta()}


def _stored(param: Parameterization) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in param.stored().items()}


def encode_bits(source: str | Path | Signal, cfg: CompressConfig, bits: list[int],
                signal_options: dict[str, Any] | None = None) -> list[Encoded]:
    """One fit, one file per bit depth (post-training quantization); with ``cfg.bpp``, the one file of
    ``encode_at_rate``."""
    signal = source if isinstance(source, Signal) else load(source, **(signal_options or {}))
    if cfg.bpp is not None:
        return [encode_at_rate(signal, cfg)]
    fitted = train(signal, cfg)
    return [write(fitted, b) for b in bits]


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
    tail = ratecontrol.finetune_share(net)
    if tail and cfg.bits is None:
        net = replace(net, bits=ratecontrol.FINETUNE_BITS)
    planned = ratecontrol.plan(net, lambda c: _build(signal, c)[0], budget, keep_depth=cfg.arch is not None)
    short, whole = _shortened(signal, planned, 1.0 - tail) if tail else (planned, None)
    fitted = train(signal, short)
    qat = write(fitted) if fitted.config.fit.qat_quantizer is not None else None  # the quantization it saw
    enc, tables = (qat, {}) if qat is not None and qat.sizes.file_bytes <= budget else \
        _choose_at_rate(signal, fitted, planned.bits, int(budget * ratecontrol.FINETUNE_MARGIN) if tail else budget)
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
    if fit.time_budget is not None:
        return replace(cfg, fit=replace(cfg.fit, time_budget=fit.time_budget * share)), fit
    first = max(1, min(fit.epochs - 1, round(fit.epochs * share)))  # at least one epoch left to fine-tune
    return replace(cfg, fit=replace(cfg.fit, epochs=first)), fit


def _finetuned(signal: Signal, fitted: Fitted, tables: dict[str, QTensor], share: float, budget: int,
               before: Encoded, whole: FitConfig) -> Encoded:
    """Train ``fitted`` on against the levels of its chosen file (``ratecontrol.finetune_grids``: each tensor's bits
    kept, its range learned) for ``share`` / (1 - share) of its fit, from 0.2x its final learning rate
    (``finetune_config``), and write it on those levels; a file over the budget is quantized to the rate afresh.
    The better decoded file of before and after wins."""
    tail = finetune_config(fitted.config.fit, share / (1.0 - share))
    if whole.time_budget is None:  # the two stages' epochs add up to those asked for
        tail = replace(tail, epochs=max(1, whole.epochs - fitted.config.fit.epochs))
    updates = ratecontrol.finetune_updates(fitted.result.epochs, fitted.result.seconds, tail, signal.num_samples())
    grids = ratecontrol.finetune_grids(tables, fitted.config, tail.lr, updates)
    result = fit_many([signal], fitted.spec, [fitted.param], tail, fixed=[grids])[0]
    merged = fitted.result.then(result, f"fine-tuned {result.epochs} epochs at the file's quantization")
    tuned = _finish(signal, Prepared(replace(fitted.config, fit=whole), fitted.spec, fitted.param), merged)
    stored = _stored(tuned.param)
    after = write(tuned, ratecontrol.main_bits(tables), "distributional",
                  qtensors=ratecontrol.finalize_grids(grids, stored))
    on_levels = after.sizes.file_bytes  # the drift from ``before``'s size is what FINETUNE_MARGIN must cover
    if on_levels > budget:
        after = _choose_at_rate(signal, tuned, ratecontrol.main_bits(tables), budget)[0]
        after.report["fit_events"].append(f"the fine-tuned file ({on_levels} B) was over the {budget} B the rate allows, "
                                          "so the fine-tuned network was quantized to the rate afresh")
    else:
        after.report.update(clip_k=before.report["clip_k"], tensor_bits=before.report["tensor_bits"])
    metric = signal.quality_metric
    best = after if after.report[metric] >= before.report[metric] or before.sizes.file_bytes > budget else before
    best.report["fit_events"].append(f"fine-tuning {result.epochs} epochs at the file's quantization: "
                                     f"{before.report[metric]:.2f} -> {after.report[metric]:.2f} ({metric}); "
                                     f"{before.sizes.file_bytes} -> {on_levels} B on its levels"
                                     f"{ratecontrol.steps_note(grids, updates, fitted.config)}")
    best.report.update(epochs=merged.epochs, fit_seconds=merged.seconds)
    best.report["config"]["fit"] = asdict(whole)  # the fit the user asked for, not its first stage
    return best


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


def encode(source: str | Path | Signal, cfg: CompressConfig | None = None,
           signal_options: dict[str, Any] | None = None, **overrides: Any) -> Encoded:
    """Fit ``source`` and return the file with its report (PSNR/SSIM or IoU of the decoded file, sizes).
    ``overrides`` are ``CompressConfig`` or ``FitConfig`` fields, e.g. ``bits=6, epochs=100``."""
    cfg = _with_overrides(cfg or CompressConfig(), overrides)
    return encode_bits(source, cfg, [cfg.bits] if cfg.bits is not None else [None], signal_options)[0]


def compress(source: str | Path | Signal, cfg: CompressConfig | None = None, **overrides: Any) -> bytes:
    """Fit, quantize and entropy-code ``source``; returns the bytes of an ``.inr`` file."""
    return encode(source, cfg, **overrides).data


def decoded_layers(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Layers:
    """The decoded network's float32 CPU layers (bit-identical on every machine)."""
    return unpack(bytes(data), limits)[2]


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS, device: str = "cpu",
           **options: Any) -> tuple[dict[str, Any], Any]:
    """(header, reconstruction) of ``.inr`` bytes; options go to the signal (e.g. ``scale``, ``resolution``)."""
    header, spec, layers = unpack(bytes(data), limits)
    dev = resolve_device(device)
    out = signal_class(header["kind"]).reconstruct(header, field_of(spec, layers, dev), limits=limits, device=dev,
                                                   **options)
    return header, out


def decompress(data: bytes, **options: Any) -> np.ndarray:
    """Decode ``.inr`` bytes into the signal (an integer image array for images)."""
    return decode(data, **options)[1]


def info(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Header fields plus sizes, without decoding the payload."""
    header = peek(bytes(data), limits)
    return {**header, "file_bytes": len(data), **signal_class(header["kind"]).header_rate(header, len(data))}
