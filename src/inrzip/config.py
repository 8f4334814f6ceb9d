"""The typed settings of a compression: what network to fit (``CompressConfig``) and how (``FitConfig``).

Every field carries its documentation in ``help``; the command line is generated from these fields
(``inrzip.cli.flags``), so a setting and its flag cannot drift apart. ``None`` means "not set": the
signal kind's, the parameterization's or the preset's default is filled in by ``inrzip.api.resolve``,
the one place where defaults are applied (the fit-time part of it is ``inrzip.fit.defaults``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["FitConfig", "CompressConfig", "option", "option_fields"]


def option(default: Any = None, help: str = "", *, flag: str | None = None, choices: tuple | None = None,
           cli: bool = True, metavar: str | None = None, factory: Any = None) -> Any:
    """A config field with its help text; ``flag`` overrides the generated ``--field-name``; ``cli=False``
    keeps a field out of the command line (Python API only)."""
    meta = {"help": help, "flag": flag, "choices": choices, "cli": cli, "metavar": metavar}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class FitConfig:
    """How a network is trained. ``None``: the signal kind's / parameterization's default (``api.resolve``)."""

    epochs: int | None = option(None, "full passes over the signal's samples (images: 300; with --time-budget: as "
                                      "many as the budget allows)")
    batch_size: int | None = option(None, "samples per step (images: 8192, D'OH's weights of <= 2^17 pixels "
                                          "4096; meshes 20000; NeRF 512 rays)")
    lr: float | None = option(None, "learning rate (default per parameterization and kind: docs/fitting.md)")
    loss: str | None = option(None, "training loss (default: the signal's; log10mse for images)",
                              choices=("mse", "log10mse", "bce"))
    betas: tuple[float, float] | None = option(None, "Adam betas (default: MLP 0.9 0.999; D'OH 0.99 0.999, its "
                                               "Table 1; NeRF 0.9 0.999)",
                                               metavar="B")
    gamma: float | None = option(None, "LR decay per epoch (default: set by the run length, docs/fitting.md)")
    warmup_epochs: int | None = option(None, "linear learning-rate warm-up, in epochs run (default: MLP 1, D'OH 0)")
    time_budget: float | None = option(None, "seconds of fitting; the schedules are planned over them (meshes: 600)",
                                       metavar="SECONDS")
    seed: int | None = option(None, "the one seed: initial weights, D'OH's generator and the batch order (default 0)")
    device: str | None = option(None, "cpu, cuda or auto (default cpu)")
    progress: bool | None = option(None, "progress bar while fitting", cli=False)
    guard: bool | None = option(None, "keep the best state and roll diverging fits back (default on; off for "
                                      "studies of the optimizer itself, whose oscillations are the result)", cli=False)
    optimizer: str | None = option(None, "adam; adam-weights: Adam on a D'OH network's weights, not its latent (D'OH "
                                         "images' and meshes' default); sgd; sgd-inv-mse: SGD with steps scaled by 1/MSE "
                                         "(seed 000, sec. 1.7)", choices=("adam", "adam-weights", "sgd", "sgd-inv-mse"))
    qat_quantizer: str | None = option(None, "quantization-aware training with this quantizer", cli=False)
    qat_bits: int | None = option(None, "bit depth of quantization-aware training", cli=False)
    qat_refresh: int | None = option(None, "steps between re-estimates of a QAT range or codebook (default 1)")
    qat_start: float | None = option(None, "fraction of the run trained in float before QAT starts (NeRF: 0.8)")
    rate_lambda: float | None = option(None, "entropy-aware training: adds LAMBDA x the estimated coded bits per sample "
                                       "of the stored values to the loss (default 0: off; docs/rate.md)",
                                       metavar="LAMBDA")
    rate_bits: int | None = option(None, "bit depth the rate term estimates the file at (default: --bits)", cli=False)
    engine: str | None = option(None, "training kernels; all give the same network maths (docs/fitting-speed.md)",
                                choices=("auto", "fast", "compiled", "numba", "reference"))
    threads: int | None = option(None, "torch threads while fitting (default: 1 on a busy machine, else torch's)")
    precision: str | None = option(None, "bf16: hidden layers' matmuls in bfloat16, for GPUs (slower on most CPUs)",
                                   choices=("fp32", "bf16"))


@dataclass
class CompressConfig:
    """What to fit and how to store it. ``None``: the signal kind's default (``api.resolve``)."""

    arch: str | None = option(None, "WIDTHxHIDDEN, e.g. 20x4, 28x9, 40x9 (images 28x9; NeRF 64x4)")
    parameterization: str | None = option(None, "mlp: weights stored directly; doh: W_l = B_l z from a seed and one "
                                          "latent z (default doh; NeRF mlp)", choices=("mlp", "doh"))
    latent_ratio: float | None = option(None, "D'OH latent size / target network's weight count (default 0.6)",
                                        flag="--latent")
    latent_dim: int | None = option(None, "D'OH latent size, absolute (overrides --latent)")
    doh_init: str | None = option(None, "D'OH B_l init target: doh (supplement eqs. 13/16) or siren (reference-code "
                                  "bound; default for images and meshes)", choices=("doh", "siren"))
    activation: str | None = option(None, "network nonlinearity (default: the signal's; sine)",
                                    choices=("sine", "relu", "gauss"))
    omega: float | None = option(None, "sine frequency omega (default 30)")
    pe: bool | None = option(None, "positional encoding (default: on for D'OH, off for the image MLP)")
    pe_freqs: int | None = option(None, "positional-encoding frequencies (default 10)")
    pe_band: str | None = option(None, "nyquist: each axis's PE frequencies are folded to its sample grid and kept "
                                 "under a fraction of its Nyquist rate (images a quarter, grids half), so decodes "
                                 "between samples look right (default); half: under half (images' default before "
                                 "2026-12-04); folded: folded only; full: the octave frequencies on every axis "
                                 "(docs/resolution.md)", choices=("nyquist", "half", "folded", "full"))
    bits: int | None = option(None, "bits per stored value, 1..16 (default 8)")
    quantizer: str | None = option(None, "minmax, explicit, distributional or kmeans (default minmax)")
    qat: bool | None = option(None, "quantization-aware training at --bits with --quantizer (straight-through)")
    preset: str | None = option(None, "paper: the D'OH supplement's Table 1 settings (2000 epochs, batch 1024, ...)",
                                choices=("paper",))
    target_psnr: float | None = option(None, "stop fitting as soon as the decoded file (at --bits) reaches this PSNR, "
                                       "checked every few seconds", metavar="DB")
    bpp: float | None = option(None, "images: write the best file at or under this many bits per pixel (the network "
                               "is sized for it, the quantization fitted to it; docs/rate.md)", metavar="BPP")
    finetune: float | None = option(None, "the fraction of the fit spent training against the quantization its "
                                    "file was given, then written again on those levels: with --bpp an MLP's "
                                    "(default 0.03, and the network is planned at 7 bits unless --bits is given), "
                                    "at a fixed --bits a D'OH latent's or an MLP's weights at 8 bits or fewer "
                                    "(images: default 0.05); 0 turns it off",
                                    metavar="FRACTION")
    step_lr: float | None = option(None, "with --finetune: Adam rate of each tensor's quantization step and centre "
                                   "while fine-tuning (the step in log units, the centre in steps; the file's size held "
                                   "by one shared shift of the log steps); default 3e-4 when the fine-tuning makes at "
                                   "least 250 steps (else the chosen ranges are kept), 0 keeps them always",
                                   metavar="RATE")
    init: str | None = option(None, "MLP only: start from a meta-learned initialization shipped with inrzip instead of "
                              "SIREN's random one (`inrzip inits` lists them; the file stores every weight, so the "
                              "decoder never needs it, unless --residual)", metavar="NAME")
    residual: bool | None = option(None, "store each trained value's offset from its init instead of the value; "
                                   "with --init (MLP) the shipped init (the file names it and its SHA-256, and needs "
                                   "it to decode), without it the random init regenerated from the seed (MLP or D'OH's "
                                   "latent and biases; by default for MLPs without --pe (images; meshes at 8 bits or "
                                   "fewer), D'OH images at 7 bits or fewer and D'OH meshes at 8 or fewer, unless "
                                   "--init or --preset; --no-residual stores the values)")
    fit: FitConfig = option(help="training settings", cli=False, factory=FitConfig)


def option_fields(cls: type) -> list[Any]:
    """The fields of a config class that have a command-line flag."""
    return [f for f in fields(cls) if f.metadata.get("cli", False)]


# annotation -> (accepted types, what the error says); NumPy's integers and floats register as these ABCs
_SCALARS = {"int": ((numbers.Integral,), "an integer"), "float": ((numbers.Real,), "a number"),
            "str": ((str,), "a string"), "bool": ((bool,), "True or False")}


def _number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def type_errors(cfg: Any) -> list[str]:
    """Fields of a config (``CompressConfig`` or ``FitConfig``) whose value is not of the annotated type: a Python
    caller's ``arch=(28, 9)`` or ``lr="1e-3"`` would otherwise fail deep inside as an AttributeError or TypeError.
    An int passes where a float is asked for; a bool never passes for a number; a pair is a list or tuple of two
    numbers."""
    errors = []
    for f in fields(cfg):
        v, kind = getattr(cfg, f.name), str(f.type).replace(" | None", "")
        if v is None or f.name == "fit":
            continue
        if kind.startswith("tuple"):
            ok, wanted = isinstance(v, (list, tuple)) and len(v) == 2 and all(_number(x) for x in v), "a pair of numbers"
        elif kind in _SCALARS:
            types, wanted = _SCALARS[kind]
            ok = isinstance(v, types) and (kind == "bool" or not isinstance(v, bool))
        else:
            continue
        if not ok:
            errors.append(f"{f.name} must be {wanted}, got {type(v).__name__} {v!r}")
    return errors


def plain_numbers(cfg: Any) -> Any:
    """``cfg`` with NumPy numbers (``bits=np.int64(6)`` from an array) as Python's: a file's header stores Python
    ints and floats only."""
    plain = {f.name: (int(v) if isinstance(v, numbers.Integral) else float(v))
             for f in fields(cfg) if isinstance(v := getattr(cfg, f.name), numbers.Real)
             and not isinstance(v, (bool, int, float))}
    return replace(cfg, **plain) if plain else cfg
