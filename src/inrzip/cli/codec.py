"""``inrzip compress``, ``decompress`` and ``info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..api import decode, encode, info, load
from ..errors import InrzipError
from ..limits import DEFAULT_LIMITS, Limits
from ..signals import signal_class
from .flags import add_config_flags, config_from_args

__all__ = ["add_parsers", "SIGNAL_OPTIONS"]

# Loader options by signal kind; a kind ignores the others' (given only when set).
SIGNAL_OPTIONS: dict[str, tuple[type, str]] = {
    "resolution": (int, "meshes: occupancy grid points per axis (default 128)"),
    "size": (int, "NeRF scenes: image side in pixels the views are resized to"),
    "samples": (int, "NeRF scenes: coarse samples per ray"),
    "fine": (int, "NeRF scenes: fine (importance) samples per ray"),
}


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("compress", help="fit a network to a signal and write an .inr file")
    p.add_argument("source", help="image file, mesh file or NeRF scene folder")
    p.add_argument("-o", "--output", required=True, help="output .inr path")
    add_config_flags(p)
    s = p.add_argument_group("signal (by kind)")
    for name, (typ, help_) in SIGNAL_OPTIONS.items():
        s.add_argument(f"--{name}", type=typ, help=help_)
    p.add_argument("--max-pixels", type=int, default=DEFAULT_LIMITS.max_pixels, help="refuse larger images")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_compress)

    d = sub.add_parser("decompress", help="decode an .inr file (image, grid, mesh...)")
    d.add_argument("input", help=".inr file")
    d.add_argument("-o", "--output", required=True, help="output path; format from the suffix")
    d.add_argument("--scale", type=float, default=1.0,
                   help="image size factor: above 1 the network is evaluated between the fitted pixels, below 1 "
                        "each pixel averages the area it covers (docs/resolution.md)")
    d.add_argument("--resolution", type=int, help="occupancy: grid points per axis (default: the encoded one)")
    d.add_argument("--device", default="cpu")
    d.add_argument("--max-pixels", type=int, default=DEFAULT_LIMITS.max_pixels, help="refuse larger outputs")
    d.set_defaults(handler=cmd_decompress)

    i = sub.add_parser("info", help="print an .inr file's header")
    i.add_argument("input")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=cmd_info)


def read_file(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InrzipError(f"{path}: no such file")
    return p.read_bytes()


def _signal_options(a: Any) -> dict[str, Any]:
    """Options for the signal loader: only those given (each kind ignores the others' options)."""
    given = {k: getattr(a, k) for k in SIGNAL_OPTIONS if getattr(a, k, None) is not None}
    return {"max_pixels": a.max_pixels, "progress": not a.quiet, **given}


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def cmd_compress(a: Any) -> int:
    signal = load(a.source, **_signal_options(a))
    enc = encode(signal, config_from_args(a))
    enc.save(a.output)
    if a.json:
        print(json.dumps({**enc.report, "output": a.output}, indent=2))
        return 0
    r = enc.report
    quality = "  ".join(f"{k.upper()} {_fmt(r[k])}" for k in ("psnr", "ssim", "iou") if k in r)
    rate = f"bpp {r['bpp']:.4f} (estimate {r['estimated_bpp']:.4f})" if "bpp" in r else ""
    print(f"{a.output}: {quality}  {rate}")
    print(f"  file {r['file_bytes']} B ({r['file_bytes'] / 1000:.2f} kB); params x bits estimate "
          f"{r['estimated_bytes']:.0f} B = {r['stored_values']} values x {r['bits']} bits; "
          f"bzip2(pickle) {r['bzip2_pickle_bytes']} B")
    print(f"  fit {r['epochs']} epochs in {r['fit_seconds']:.1f} s; unquantized network "
          + "  ".join(f"{k[6:].upper()} {_fmt(v)}" for k, v in r.items() if k.startswith("float_")))
    for event in r.get("fit_events", []):
        print(f"  note: {event}")
    return 0


def cmd_decompress(a: Any) -> int:
    limits = Limits(max_pixels=a.max_pixels)
    options = {"scale": a.scale} if a.resolution is None else {"scale": a.scale, "resolution": a.resolution}
    header, out = decode(read_file(a.input), limits=limits, device=a.device, **options)
    signal_class(header["kind"]).save(out, Path(a.output), header)
    shape = "x".join(str(s) for s in getattr(out, "shape", ()))
    print(f"{a.output}: {header['kind']} {shape}")
    return 0


def cmd_info(a: Any) -> int:
    meta = info(read_file(a.input))
    if a.json:
        print(json.dumps(meta, indent=2))
    else:
        for k, v in meta.items():
            print(f"{k:>12}: {v}")
    return 0
