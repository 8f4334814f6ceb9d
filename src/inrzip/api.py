"""Public Python API: ``compress`` / ``decompress`` and their richer forms ``encode`` / ``decode``.

    >>> data = inrzip.compress("kodim23.png", arch="28x9", latent=0.6, bits=8)
    >>> image = inrzip.decompress(data, scale=2)

One fit can be written at many bit depths (``encode_bits``): post-training quantization makes
every rate from the same network, which is how the papers sweep rate-distortion.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .batched import fit_many
from .codec import DEFAULT_LIMITS, Limits, SizeReport, network_header, pack, peek, unpack
from .errors import InrzipError
from .fitting import FitConfig, FitResult, fit
from .networks import NetworkSpec, forward, param_count, parse_arch
from .parameterizations import Parameterization, make_parameterization
from .quantizers import check_bits, get_quantizer
from .runtime import resolve_device
from .signals import Signal, load_signal, signal_class

__all__ = ["CompressConfig", "Encoded", "compress", "decompress", "encode", "encode_bits", "encode_many", "decode",
           "info", "PRESETS", "apply_preset"]


@dataclass
class CompressConfig:
    """What to fit and how to store it. ``None`` fields take the signal's / parameterization's default."""

    arch: str = "28x9"  # WIDTHxHIDDEN
    parameterization: str = "doh"  # "doh" | "mlp"
    latent: float = 0.6  # D'OH latent size as a ratio of the target network's weight count
    latent_dim: int | None = None  # absolute latent size (overrides ``latent``)
    doh_init: str | None = None  # "doh": supplement eqs. 13/16; "siren": reference-code hidden bound (sqrt(6)
    # wider); None: the signal's (images and meshes "siren": docs/fitting.md, docs/occupancy.md; NeRF "doh")
    bits: int = 8
    quantizer: str = "minmax"
    activation: str | None = None  # default: the signal's (sine for images)
    omega: float = 30.0
    pe: bool | None = None  # default: on for doh, the signal's choice for mlp (off for images)
    pe_freqs: int = 10
    seed: int = 0
    qat: bool = False  # quantization-aware training at ``bits`` with ``quantizer``
    fit: FitConfig = field(default_factory=FitConfig)  # left as FitConfig(): the kind's (kind_defaults)


# Per signal kind and parameterization: the supplement's Table 1 settings.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "image": {"epochs": 2000, "batch_size": 1024, "lr": {"mlp": 2e-4, "doh": 1e-6}, "loss": "mse", "gamma": 0.999,
                  "doh_init": "doh"},
        "occupancy": {"epochs": 250, "batch_size": 20000, "lr": {"mlp": 1e-4, "doh": 1e-6}, "loss": "mse", "gamma": 0.999,
                      "doh_init": "doh"},
    },
}


def apply_preset(cfg: CompressConfig, preset: str, kind: str) -> CompressConfig:
    """Return ``cfg`` with the preset's fitting settings for this signal kind."""
    try:
        p = dict(PRESETS[preset][kind])
    except KeyError:
        raise InrzipError(f"no preset {preset!r} for {kind} signals; known: {sorted(PRESETS)}") from None
    lr = p.pop("lr")
    p["lr"] = lr.get(cfg.parameterization) if isinstance(lr, dict) else lr
    init = p.pop("doh_init", None)  # the supplement's B init, unless the user chose one
    return replace(cfg, doh_init=cfg.doh_init or init, fit=replace(cfg.fit, **p))


@dataclass
class Encoded:
    """A compressed file and everything measured while making it."""

    data: bytes
    report: dict[str, Any]
    sizes: SizeReport

    def save(self, path: str | Path) -> None:
        """Write atomically: a crash never leaves a half-written file under the final name."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.data)
        tmp.replace(path)


def _spec(signal: Signal, cfg: CompressConfig) -> NetworkSpec:
    width, hidden = parse_arch(cfg.arch)
    pe = cfg.pe if cfg.pe is not None else (cfg.parameterization == "doh" or getattr(signal, "default_mlp_pe", False))
    if getattr(signal, "encodes_inputs", False):  # e.g. NeRF: the signal encodes positions and directions itself
        pe = False
    return NetworkSpec(signal.in_features, signal.out_features, width, hidden,
                       cfg.activation or signal.default_activation, float(cfg.omega), cfg.pe_freqs if pe else 0)


def _parameterization(spec: NetworkSpec, cfg: CompressConfig, signal: Signal | None = None) -> Parameterization:
    init = cfg.doh_init or getattr(signal, "default_doh_init", "doh")
    return make_parameterization(cfg.parameterization, spec, seed=cfg.seed, latent=cfg.latent_dim,
                                 latent_ratio=cfg.latent, init=init)


def _field(spec: NetworkSpec, layers: list, device: torch.device):
    layers = [(w.to(device), b.to(device)) for w, b in layers]
    return lambda x: forward(spec, layers, x)


def kind_defaults(fit_cfg: FitConfig, signal: Signal) -> FitConfig:
    """The signal kind's own fitting defaults (``fit_defaults``: e.g. meshes fit with batch 20000 for at most
    10 minutes, not 300 epochs of 8192) when ``fit_cfg`` is FitConfig() untouched; a caller who set any fit
    field owns them all (start from ``FitConfig(**signal_class(kind).fit_defaults)`` to keep the kind's)."""
    if fit_cfg != FitConfig():
        return fit_cfg
    return replace(fit_cfg, **signal.fit_defaults)


def _prepare(signal: Signal, cfg: CompressConfig) -> tuple[NetworkSpec, Parameterization, FitConfig]:
    """The network, its initial parameters and the fitting settings ``cfg`` asks for on ``signal``."""
    check_bits(cfg.bits)
    get_quantizer(cfg.quantizer)
    spec = _spec(signal, cfg)
    device = resolve_device(cfg.fit.device)
    torch.manual_seed(cfg.seed)
    param = _parameterization(spec, cfg, signal)
    fcfg = replace(kind_defaults(cfg.fit, signal), device=str(device))
    if cfg.qat:
        fcfg = replace(fcfg, qat_quantizer=cfg.quantizer, qat_bits=cfg.bits)
    return spec, param, fcfg


def _fit(source: str | Path | Signal, cfg: CompressConfig, signal_options: dict[str, Any]) -> tuple[Signal, NetworkSpec, Parameterization, FitResult]:
    signal = source if isinstance(source, Signal) else load_signal(source, **signal_options)
    spec, param, fcfg = _prepare(signal, cfg)
    return signal, spec, param, fit(signal, spec, param, fcfg)


def _package(signal: Signal, spec: NetworkSpec, param: Parameterization, cfg: CompressConfig, bits: int,
             result: FitResult, float_metrics: dict[str, float]) -> Encoded:
    header = {**network_header(spec, param, cfg.quantizer, bits, signal.kind), **signal.meta()}
    stored = {k: v.detach().cpu().numpy() for k, v in param.stored().items()}
    t0 = time.perf_counter()
    qtensors = None
    if result.qat_states and bits == cfg.bits:  # QAT: store the tables training saw
        qtensors = {k: result.qat_states[k].finalize(v.ravel()) for k, v in stored.items()}
    data, _, sizes = pack(header, stored, cfg.quantizer, bits, qtensors)
    _, dspec, layers = unpack(data)
    metrics = signal.evaluate(_field(dspec, layers, torch.device("cpu")))
    report = {
        "signal": signal.kind, "bits": bits, **metrics,
        **{f"float_{k}": v for k, v in float_metrics.items()},
        "file_bytes": sizes.file_bytes, "estimated_bytes": sizes.estimated_bytes,
        "bzip2_pickle_bytes": sizes.bzip2_pickle_bytes, "stored_values": sizes.stored_values,
        "target_params": param_count(spec), "epochs": result.epochs, "fit_seconds": result.seconds,
        "encode_seconds": time.perf_counter() - t0, "config": _config_dict(cfg, bits),
    }
    if signal.kind == "image":
        pixels = signal.num_samples()
        report["bpp"] = 8 * sizes.file_bytes / pixels
        report["estimated_bpp"] = 8 * sizes.estimated_bytes / pixels
    return Encoded(data, report, sizes)


def _config_dict(cfg: CompressConfig, bits: int) -> dict[str, Any]:
    d = asdict(cfg)
    d["bits"] = bits
    return d


def encode_bits(source: str | Path | Signal, cfg: CompressConfig, bits: list[int],
                signal_options: dict[str, Any] | None = None) -> list[Encoded]:
    """One fit, one file per bit depth (post-training quantization)."""
    return _encode_fitted(*_fit(source, cfg, signal_options or {}), cfg, bits)


def encode_many(signals: Signal | list[Signal], cfgs: list[CompressConfig],
                bits: list[list[int]]) -> list[list[Encoded]]:
    """``encode_bits(signals[k], cfgs[k], bits[k])`` for every k, with the K fits in one pass (``fit_many``).

    For sweeps: one signal, or K signals of one kind and size (K images); the configs must share one
    architecture and the settings that fix the batches (epochs, batch size, seed, ...; ``fit_many`` says
    which); lr, latent size, QAT may differ. Each report's ``fit_seconds`` is the pass's time divided by K,
    the cost of one model."""
    signals = signals if isinstance(signals, list) else [signals] * len(cfgs)
    prepared = [_prepare(s, c) for s, c in zip(signals, cfgs)]
    spec = prepared[0][0]
    if any(s != spec for s, _, _ in prepared):
        raise InrzipError("encode_many: the configs give different networks; fit them separately")
    results = fit_many(signals, spec, [p for _, p, _ in prepared], [f for _, _, f in prepared])
    out = []
    for signal, (s, param, _), cfg, b, result in zip(signals, prepared, cfgs, bits, results):
        result.seconds /= len(cfgs)
        out.append(_encode_fitted(signal, s, param, result, cfg, b))
    return out


def _encode_fitted(signal: Signal, spec: NetworkSpec, param: Parameterization, result: FitResult,
                   cfg: CompressConfig, bits: list[int]) -> list[Encoded]:
    """The files of a fitted ``param``, one per bit depth, each scored after a real decode."""
    device = next(param.parameters()).device  # the float network is scored where it was trained
    float_metrics = signal.evaluate(_field(spec, [(w.detach(), b.detach()) for w, b in param.layers()], device),
                                    device=device)
    param.cpu()
    out = []
    for b in bits:
        check_bits(b)
        out.append(_package(signal, spec, param, cfg, b, result, float_metrics))
    return out


def encode(source: str | Path | Signal, cfg: CompressConfig | None = None,
           signal_options: dict[str, Any] | None = None, **overrides: Any) -> Encoded:
    """Fit ``source`` and return the file with its report (PSNR/SSIM or IoU of the decoded file, sizes)."""
    cfg = _with_overrides(cfg or CompressConfig(), overrides)
    return encode_bits(source, cfg, [cfg.bits], signal_options)[0]


def _with_overrides(cfg: CompressConfig, overrides: dict[str, Any]) -> CompressConfig:
    fit_names = {f.name for f in fields(FitConfig)}
    top = {k: v for k, v in overrides.items() if k not in fit_names}
    sub = {k: v for k, v in overrides.items() if k in fit_names}
    unknown = set(top) - {f.name for f in fields(CompressConfig)}
    if unknown:
        raise InrzipError(f"unknown options {sorted(unknown)}")
    return replace(cfg, **top, fit=replace(cfg.fit, **sub))


def compress(source: str | Path | Signal, cfg: CompressConfig | None = None, **overrides: Any) -> bytes:
    """Fit, quantize and entropy-code ``source``; returns the bytes of an ``.inr`` file."""
    return encode(source, cfg, **overrides).data


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS, device: str = "cpu", **options: Any) -> tuple[dict[str, Any], Any]:
    """(header, reconstruction) of ``.inr`` bytes; options go to the signal (e.g. ``scale``, ``resolution``)."""
    header, spec, layers = unpack(bytes(data), limits)
    dev = resolve_device(device)
    out = signal_class(header["kind"]).reconstruct(header, _field(spec, layers, dev), device=dev,
                                                   **{**limits.as_dict(), **options})
    return header, out


def decompress(data: bytes, **options: Any) -> np.ndarray:
    """Decode ``.inr`` bytes into the signal (an integer image array for images)."""
    return decode(data, **options)[1]


def info(data: bytes) -> dict[str, Any]:
    """Header fields plus sizes, without decoding the payload."""
    header = peek(bytes(data))
    return {**header, "file_bytes": len(data)}
