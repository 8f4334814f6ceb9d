"""The steps behind ``compress`` / ``decompress``: resolve, prepare, train, write (encode, decode, score), decode."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..bitstream.header import network_header
from ..bitstream.pipeline import SizeReport, pack, peek, unpack
from ..config import CompressConfig, FitConfig, plain_numbers, type_errors
from ..errors import FormatError, InputError, InrzipError
from ..fit import FitResult, fit_many, resolve_fit
from ..fit.defaults import check_seed
from ..fit.runtime import resolve_device
from ..fit.target import TargetCheck
from ..limits import DEFAULT_LIMITS, Limits
from ..nets.inits import apply_init, apply_seeded_residual
from ..nets.networks import Layers, NetworkField, NetworkSpec, param_count, parse_arch, weight_count
from ..nets.parameterizations import Parameterization, make_parameterization, parameterization_class
from ..nets.stacked import Stacked
from ..presets import PRESETS, apply_preset
from ..quant import QTensor, check_bits, get_quantizer
from ..records import Encoded, Fitted, Prepared
from ..signals import Field, Signal, load_signal, signal_class

__all__ = ["CompressConfig", "FitConfig", "Limits", "DEFAULT_LIMITS", "Encoded", "Fitted", "Prepared", "PRESETS",
           "NETWORK_DEFAULTS", "SIZE_OPTIONS", "resolve", "prepare", "train", "write", "decompress", "decode", "decoded_layers", "info",
           "inr_bytes", "load", "field_of"]

# Network defaults that do not depend on the signal kind (the kind's own are attributes of its class).
NETWORK_DEFAULTS: dict[str, Any] = {"latent_ratio": 0.6, "omega": 30.0, "pe_freqs": 10, "pe_band": "nyquist",
                                    "bits": 8, "quantizer": "minmax", "qat": False}

# What the API fits: a path (image, mesh, NeRF scene folder), an image array, or a loaded signal
Source = str | Path | np.ndarray | Signal


def load(source: str | Path | np.ndarray, **signal_options: Any) -> Signal:
    """Read a source (image, mesh, NeRF scene folder) as a signal; options such as ``resolution``, ``size``. An
    array (NumPy, or anything ``np.asarray`` takes, such as a CPU torch tensor) is an image: (H, W) or (H, W, C),
    uint8, uint16 or floats in [0, 1]."""
    if not isinstance(source, (str, Path)) and hasattr(source, "__array__"):
        return signal_class("image").from_array(source, signal_options.get("limits", DEFAULT_LIMITS))
    return load_signal(source, **signal_options)


def _resolve_network(cfg: CompressConfig, signal: Signal) -> CompressConfig:
    """Every network and storage field set: the user's, else the preset's, else the kind's, else the default."""
    wrong = type_errors(cfg) + type_errors(cfg.fit)
    if wrong:
        raise InrzipError("; ".join(wrong))
    cfg = replace(plain_numbers(cfg), fit=plain_numbers(cfg.fit))
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
    _check_ranges(cfg)
    pe = bool(pe and not signal.encodes_inputs)
    residual = cfg.residual if cfg.residual is not None else _seeded_residual(signal, cfg, param_name, pe,
                                                                              values["bits"])
    return replace(cfg, **values, parameterization=param_name, residual=residual, arch=cfg.arch or signal.default_arch,
                   activation=cfg.activation or signal.default_activation, pe=pe,
                   doh_init=cfg.doh_init or signal.default_doh_init, fit=fit)


def _check_ranges(cfg: CompressConfig) -> None:
    """Options out of their range are refused before any network is built or fitted: a typo such as a negative
    target would otherwise pass silently, and a seed too large for the header fail after the fit."""
    check_seed(cfg.fit.seed)
    if cfg.pe_freqs is not None and cfg.pe_freqs < 0:
        raise InrzipError(f"--pe-freqs must be 0 or more, got {cfg.pe_freqs}")
    for flag, v in (("--target-psnr", cfg.target_psnr), ("--step-lr", cfg.step_lr)):
        if v is not None and not 0 < v < math.inf:
            raise InrzipError(f"{flag} must be a positive number, got {v}")


def _seeded_residual(signal: Signal, cfg: CompressConfig, param_name: str, pe: bool, bits: int) -> bool:
    """Whether a file stores offsets from its seeded init when the user does not say (docs/rate.md, "Offsets from
    the seeded init"): up to the kind's measured depth (``Signal.seeded_residual``); an MLP only on raw
    coordinates, where SIREN's wide first layer moves little and its phase is what rounding costs (with an
    encoding, and so under --bpp, they were level); D'OH not under --bpp. Never with a shipped --init (its own
    residual is asked for)."""
    deepest = signal.seeded_residual.get(param_name, 0)
    if cfg.init or bits > deepest:
        return False
    return not pe if param_name == "mlp" else cfg.bpp is None


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


def network_spec(signal: Signal, cfg: CompressConfig) -> NetworkSpec:
    """The network spec of a network-resolved config (no parameters: what rate control sizes its trials by)."""
    width, hidden = parse_arch(cfg.arch)
    spec = NetworkSpec(signal.in_features, signal.out_features, width, hidden, cfg.activation, float(cfg.omega),
                       *_pe(signal, cfg))
    if weight_count(spec) > DEFAULT_LIMITS.max_weights:
        raise InrzipError(f"--arch {cfg.arch} has {weight_count(spec)} weights, over the {DEFAULT_LIMITS.max_weights} "
                          "a decoder accepts by default; choose a smaller --arch")
    return spec


def _build(signal: Signal, cfg: CompressConfig) -> tuple[NetworkSpec, Parameterization]:
    """Network spec and initial parameters of a network-resolved config (cheap: D'OH's B comes later)."""
    spec = network_spec(signal, cfg)
    seed = cfg.fit.seed if cfg.fit.seed is not None else 0
    kwargs = {"seed": seed, "latent_dim": cfg.latent_dim, "latent_ratio": cfg.latent_ratio, "init": cfg.doh_init}
    param = (make_parameterization(cfg.parameterization, spec, **kwargs) if signal.networks == 1 else
             Stacked(spec, cfg.parameterization, signal.networks, **kwargs))  # NeRF's coarse + fine pair
    if cfg.init:  # a meta-learned start (nets/inits.py); an error on a network it does not fit
        apply_init(param, cfg.init, residual=bool(cfg.residual))
    elif cfg.residual:  # offsets from the random init, regenerated from the seed (nets/inits.seeded_init)
        apply_seeded_residual(param, seed)
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


def train(source: Source, cfg: CompressConfig | None = None,
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
    """The quality of the network as it is now, its stored tensors quantized afresh at the config's bits, written
    and decoded: what ``write`` reports, or less where QAT's own codebooks decode better."""
    cfg = prep.config
    header = _header(signal, prep.spec, prep.param, cfg.quantizer, cfg.bits)
    metrics = _pack_and_score(signal, header, _stored(prep.param), cfg.quantizer, cfg.bits, None)[2]
    return metrics[signal.quality_metric]


def _qat_tensors(f: Fitted, quantizer: str, bits: int, stored: dict[str, np.ndarray]) -> dict[str, QTensor] | None:
    """The tables QAT trained with, when the file is written at the quantizer and depth training used."""
    fit = f.config.fit
    if not f.result.qat_states or fit.qat_quantizer != quantizer or fit.qat_bits != bits:
        return None
    return {k: f.result.qat_states[k].finalize(v.ravel()) for k, v in stored.items()}


def write(f: Fitted, bits: int | None = None, quantizer: str | None = None, qat_tables: bool | None = None,
          qtensors: dict[str, QTensor] | None = None) -> Encoded:
    """Quantize ``f`` (at ``bits`` with ``quantizer``; default: its config's), write the file, decode the bytes
    and score them: the report is what a user who decodes the file gets. After QAT at this quantizer and
    depth there are two candidate files, the tables training saw and a fresh quantization of the final weights:
    by default the better decoded one is written (neither wins everywhere: docs/quantizers.md), ``qat_tables``
    True or False forces one. ``qtensors`` gives the quantization outright (e.g. a quantizer with non-default
    options)."""
    bits = f.config.bits if bits is None else bits
    quantizer = quantizer or f.config.quantizer
    check_bits(bits)
    t0 = time.perf_counter()
    header = _header(f.signal, f.spec, f.param, quantizer, bits)
    stored = _stored(f.param)
    trained = None if qtensors is not None or qat_tables is False else _qat_tensors(f, quantizer, bits, stored)
    candidates: dict[str, dict[str, QTensor] | None]  # None: quantize the stored tensors afresh
    if trained is None:
        candidates = {"given": qtensors}
    elif qat_tables:
        candidates = {"training": trained}
    else:
        candidates = {"training": trained, "fresh": None}
    scored = {name: _pack_and_score(f.signal, header, stored, quantizer, bits, t) for name, t in candidates.items()}
    choice = max(scored, key=lambda k: scored[k][2][f.signal.quality_metric])
    data, sizes, metrics = scored[choice]
    config = asdict(replace(f.config, bits=bits, quantizer=quantizer))
    report = {
        "signal": f.signal.kind, "bits": bits, "quantizer": quantizer, **metrics,
        **{f"float_{k}": v for k, v in f.float_metrics.items()},
        "file_bytes": sizes.file_bytes, "estimated_bytes": sizes.estimated_bytes,
        "bzip2_pickle_bytes": sizes.bzip2_pickle_bytes, "stored_values": sizes.stored_values,
        **f.signal.rate_report(sizes.file_bytes, sizes.estimated_bytes),
        "target_params": param_count(f.spec), "epochs": f.result.epochs, "fit_seconds": f.result.seconds,
        "fit_events": list(f.result.events) + _size_notes(f.signal, sizes.file_bytes),
        "encode_seconds": time.perf_counter() - t0, "config": config,
        **({"qat_tables": choice, "qat_candidates": {k: {f.signal.quality_metric: v[2][f.signal.quality_metric]}
                                                      for k, v in scored.items()}} if trained is not None else {}),
    }
    return Encoded(data, report, sizes)


def _size_notes(signal: Signal, file_bytes: int) -> list[str]:
    """A file no smaller than its source's raw samples is worth saying so: the default network is sized for
    photographs, and a small image (an icon, a 32x32 tile) stores fewer bytes plainly."""
    raw = signal.raw_bytes()
    if raw is None or file_bytes < raw:
        return []
    return [f"the file ({file_bytes} B) is not smaller than the raw samples ({raw} B): the network is sized for "
            "photographs; for a small image give --bpp (the network is sized for the rate) or a smaller --arch"]


def _pack_and_score(signal: Signal, header: dict[str, Any], stored: dict[str, np.ndarray], quantizer: str,
                    bits: int, tables: dict[str, QTensor] | None) -> tuple[bytes, SizeReport, dict[str, Any]]:
    """(file bytes, sizes, metrics of the decoded bytes): what a user who decodes this candidate gets."""
    data, _, sizes = pack(header, stored, quantizer, bits, tables)
    _, dspec, layers = unpack(data)
    return data, sizes, signal.evaluate(field_of(dspec, layers))


def _header(signal: Signal, spec: NetworkSpec, param: Parameterization, quantizer: str, bits: int) -> dict[str, Any]:
    return {**network_header(spec, param, quantizer, bits, signal.kind), **signal.meta()}


def _stored(param: Parameterization) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in param.stored().items()}


# What the decoders take: the bytes of an .inr file, or its path
InrFile = bytes | bytearray | memoryview | str | Path


def inr_bytes(data: InrFile, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of an ``.inr`` file given as bytes or as a path (read within ``limits.max_file_bytes``); anything
    else is a TypeError naming what is expected (``bytes(123)`` would be 123 zero bytes, ``bytes(path)`` its
    name, both then refused as "not an inrzip file", which misleads)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, (str, Path)):
        raise TypeError(f"an .inr file is its bytes or its path, not {type(data).__name__}")
    path = Path(data)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > limits.max_file_bytes:
        raise FormatError(f"{path}: {path.stat().st_size} bytes, over the limit of {limits.max_file_bytes} for an "
                          f".inr file ({limits.hint('max_file_bytes')} if you trust it)")
    return path.read_bytes()


def decoded_layers(data: InrFile, limits: Limits = DEFAULT_LIMITS) -> Layers:
    """The decoded network's float32 CPU layers (bit-identical on every machine)."""
    return unpack(inr_bytes(data, limits), limits)[2]


def decode(data: InrFile, limits: Limits = DEFAULT_LIMITS, device: str = "cpu",
           **options: Any) -> tuple[dict[str, Any], Any]:
    """(header, reconstruction) of an ``.inr`` file (its bytes or path); options go to the signal (e.g. ``scale``,
    ``resolution``)."""
    header, spec, layers = unpack(inr_bytes(data, limits), limits)
    _check_size_options(signal_class(header["kind"]), options)
    dev = resolve_device(device)
    out = signal_class(header["kind"]).reconstruct(header, field_of(spec, layers, dev), limits=limits, device=dev,
                                                   **options)
    return header, out


# The options that size a decode; each kind takes those in its ``decode_options`` and refuses the others
SIZE_OPTIONS = ("scale", "resolution")


def _check_size_options(cls: type[Signal], options: dict[str, Any]) -> None:
    """A size option the file's kind has no use for (``resolution`` for an image, ``scale`` for an occupancy grid)
    is an error, not ignored; named as the command line's flag, which has the option's name."""
    for k in sorted(options.keys() & set(SIZE_OPTIONS) - set(cls.decode_options)):
        takes = " or ".join(f"--{o}" for o in cls.decode_options if o in SIZE_OPTIONS) or "neither"
        raise InrzipError(f"--{k} does not apply to {cls.kind} files (they take {takes})")


def decompress(data: InrFile, **options: Any) -> np.ndarray:
    """Decode an ``.inr`` file (its bytes or path) into the signal (an integer image array for images)."""
    return decode(data, **options)[1]


def info(data: InrFile, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Header fields plus sizes, without decoding the payload."""
    data = inr_bytes(data, limits)
    header = peek(data, limits)
    return {**header, "file_bytes": len(data), **signal_class(header["kind"]).header_rate(header, len(data))}
