"""Command-line interface. Every command is ``main(argv)``-testable and only calls the public API.

Errors a user can cause print one line ``inrzip: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .api import CompressConfig, apply_preset, decode, encode, info
from .codec import Limits
from .errors import InrzipError
from .fitting import FitConfig

__all__ = ["main", "build_parser", "COMMANDS"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn
    return deco


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other inrzip error (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InrzipError(message)


def _add_compress(sub: Any) -> None:
    p = sub.add_parser("compress", help="fit a network to a signal and write an .inr file")
    p.add_argument("source", help="image file, mesh file or NeRF scene folder")
    p.add_argument("-o", "--output", required=True, help="output .inr path")
    g = p.add_argument_group("network")
    g.add_argument("--arch", default="28x9", help="WIDTHxHIDDEN, e.g. 20x4, 28x9, 40x9 (default 28x9)")
    kind = g.add_mutually_exclusive_group()
    kind.add_argument("--mlp", dest="parameterization", action="store_const", const="mlp",
                      help="train and store the weights directly (COIN-style)")
    kind.add_argument("--doh", dest="parameterization", action="store_const", const="doh",
                      help="D'OH: weights B_l z from a seed and one latent z (default, except NeRF scenes: mlp)")
    g.add_argument("--latent", type=float, default=0.6, help="D'OH latent size / target weight count (default 0.6)")
    g.add_argument("--latent-dim", type=int, help="D'OH latent size, absolute (overrides --latent)")
    g.add_argument("--doh-init", choices=["doh", "siren"],
                   help="D'OH B_l init target (docs/format.md; default siren, doh for NeRF scenes)")
    g.add_argument("--activation", choices=["sine", "relu", "gauss"], help="default: the signal's (sine)")
    g.add_argument("--omega", type=float, default=30.0, help="sine frequency (default 30)")
    g.add_argument("--pe", dest="pe", action="store_true", default=None, help="positional encoding on")
    g.add_argument("--no-pe", dest="pe", action="store_false", help="positional encoding off")
    g.add_argument("--seed", type=int, default=0, help="init and D'OH generator seed (default 0)")
    q = p.add_argument_group("quantization")
    q.add_argument("--bits", type=int, default=8, help="bits per stored value, 1..16 (default 8)")
    q.add_argument("--quantizer", default="minmax", help="minmax (default), explicit, distributional, kmeans")
    q.add_argument("--qat", action="store_true", help="quantization-aware training (straight-through)")
    f = p.add_argument_group("fitting")
    f.add_argument("--epochs", type=int, help="full passes over the samples (default 300; the signal's for NeRF)")
    f.add_argument("--batch-size", type=int, help="samples per step (default 8192; the signal's for NeRF)")
    f.add_argument("--lr", type=float, help="learning rate (default per parameterization, docs/fitting.md)")
    f.add_argument("--gamma", type=float, help="LR decay per epoch (default per parameterization, docs/fitting.md)")
    f.add_argument("--warmup-epochs", type=int, default=0)
    f.add_argument("--loss", choices=["mse", "log10mse", "bce"], help="default: the signal's (log10mse for images)")
    f.add_argument("--time-budget", type=float, help="stop fitting after this many seconds")
    f.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    f.add_argument("--preset", choices=["paper"], help="the supplement's settings (e.g. 2000 epochs, batch 1024)")
    f.add_argument("--engine", choices=["auto", "fast", "compiled", "reference"], default="auto",
                   help="training kernels (docs/fitting-speed.md); all give the same network maths")
    f.add_argument("--threads", type=int, help="torch threads while fitting (default: 1 on a busy machine)")
    f.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: hidden layers' matmuls in bfloat16 while fitting, for GPUs (slower on most CPUs)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    s = p.add_argument_group("signal (by kind)")
    s.add_argument("--resolution", type=int, help="meshes: occupancy grid points per axis (default 128)")
    s.add_argument("--size", type=int, help="NeRF scenes: image side in pixels the views are resized to")
    s.add_argument("--samples", type=int, help="NeRF scenes: coarse samples per ray")
    s.add_argument("--fine", type=int, help="NeRF scenes: fine (importance) samples per ray")
    p.add_argument("--max-pixels", type=int, default=Limits().max_pixels, help="refuse larger images")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _add_decompress(sub: Any) -> None:
    p = sub.add_parser("decompress", help="decode an .inr file (image, grid, mesh...)")
    p.add_argument("input", help=".inr file")
    p.add_argument("-o", "--output", required=True, help="output path; format from the suffix")
    p.add_argument("--scale", type=float, default=1.0, help="image resolution factor (INRs are resolution-free)")
    p.add_argument("--resolution", type=int, help="occupancy: grid points per axis (default: the encoded one)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-pixels", type=int, default=Limits().max_pixels, help="refuse larger outputs")


def _add_info(sub: Any) -> None:
    p = sub.add_parser("info", help="print an .inr file's header")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="inrzip", description="Compress signals into tiny neural files.")
    parser.add_argument("--version", action="version", version=f"inrzip {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_compress, _add_decompress, _add_info):
        add(sub)
    for extra in EXTRA_PARSERS:
        extra(sub)
    return parser


EXTRA_PARSERS: list[Callable[[Any], None]] = []  # subcommands added by other modules (bench, render...)

from .bench import register_cli as _register_bench  # noqa: E402  (bench, bench-codecs, plot, table)

_register_bench(command, EXTRA_PARSERS)

from .nerf.commands import register_cli as _register_nerf  # noqa: E402  (render)

_register_nerf(command, EXTRA_PARSERS)


def _read(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InrzipError(f"{path}: no such file")
    return p.read_bytes()


_SIGNAL_OPTIONS = ("resolution", "size", "samples", "fine")


def _signal_options(a: argparse.Namespace) -> dict[str, Any]:
    """Options for the signal loader: only those given (each kind ignores the others' options)."""
    given = {k: getattr(a, k) for k in _SIGNAL_OPTIONS if getattr(a, k, None) is not None}
    return {"max_pixels": a.max_pixels, "progress": not a.quiet, **given}


def _config(a: argparse.Namespace, signal: Any) -> CompressConfig:
    """Flags first, then the signal kind's own defaults (``fit_defaults``), then FitConfig's."""
    flags = {"epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr, "loss": a.loss, "threads": a.threads,
             "gamma": a.gamma, "time_budget": a.time_budget}
    fit_kw = {**signal.fit_defaults, **{k: v for k, v in flags.items() if v is not None}}
    fit = FitConfig(**fit_kw, warmup_epochs=a.warmup_epochs, seed=a.seed, device=a.device, progress=not a.quiet,
                    engine=a.engine, precision=a.precision)
    param = a.parameterization or getattr(signal, "default_parameterization", "doh")
    cfg = CompressConfig(arch=a.arch, parameterization=param, latent=a.latent, latent_dim=a.latent_dim,
                         doh_init=a.doh_init, bits=a.bits, quantizer=a.quantizer, activation=a.activation,
                         omega=a.omega, pe=a.pe, seed=a.seed, qat=a.qat, fit=fit)
    return apply_preset(cfg, a.preset, signal.kind) if a.preset else cfg


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


@command("compress")
def cmd_compress(a: argparse.Namespace) -> int:
    from .signals import load_signal

    signal = load_signal(a.source, **_signal_options(a))
    enc = encode(signal, _config(a, signal))
    enc.save(a.output)
    r = {k: v for k, v in enc.report.items() if k != "config"}
    if a.json:
        print(json.dumps({**r, "output": a.output}, indent=2))
        return 0
    quality = "  ".join(f"{k.upper()} {_fmt(r[k])}" for k in ("psnr", "ssim", "iou") if k in r)
    rate = f"bpp {r['bpp']:.4f} (estimate {r['estimated_bpp']:.4f})" if "bpp" in r else ""
    print(f"{a.output}: {quality}  {rate}")
    print(f"  file {r['file_bytes']} B ({r['file_bytes'] / 1000:.2f} kB); params x bits estimate "
          f"{r['estimated_bytes']:.0f} B = {r['stored_values']} values x {r['bits']} bits; "
          f"bzip2(pickle) {r['bzip2_pickle_bytes']} B")
    print(f"  fit {r['epochs']} epochs in {r['fit_seconds']:.1f} s; unquantized network "
          + "  ".join(f"{k[6:].upper()} {_fmt(v)}" for k, v in r.items() if k.startswith("float_")))
    return 0


@command("decompress")
def cmd_decompress(a: argparse.Namespace) -> int:
    from .signals import signal_class

    limits = Limits(max_pixels=a.max_pixels)
    options = {"scale": a.scale} if a.resolution is None else {"scale": a.scale, "resolution": a.resolution}
    header, out = decode(_read(a.input), limits=limits, device=a.device, **options)
    signal_class(header["kind"]).save(out, Path(a.output), header)
    shape = "x".join(str(s) for s in getattr(out, "shape", ()))
    print(f"{a.output}: {header['kind']} {shape}")
    return 0


@command("info")
def cmd_info(a: argparse.Namespace) -> int:
    meta = info(_read(a.input))
    if a.json:
        print(json.dumps(meta, indent=2))
    else:
        for k, v in meta.items():
            print(f"{k:>12}: {v}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except InrzipError as exc:
        print(f"inrzip: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrzip: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
