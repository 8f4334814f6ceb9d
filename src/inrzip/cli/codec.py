"""``inrzip compress``, ``decompress`` and ``info``: files or standard input/output (``-``), outputs never
overwritten without ``--force``, every limit a ``--max-x`` flag (``cli/files.py``)."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from ..api import SIZE_OPTIONS, decode, encode, info, load
from ..errors import InrzipError
from ..jsontext import json_text
from ..nets.inits import available_inits, describe_spec
from ..signals import Signal, signal_class
from ..signals.imageio import image_suffix
from .files import (
    STDIO,
    add_limit_flags,
    check_output,
    limits_from_args,
    message_stream,
    read_input,
    write_output,
)
from .flags import add_config_flags, config_from_args

__all__ = ["add_parsers", "SIGNAL_OPTIONS", "SOURCE_LIMITS", "DECODE_LIMITS", "output_format"]

# Loader options by signal kind; a kind ignores the others' (given only when set).
SIGNAL_OPTIONS: dict[str, tuple[type, str]] = {
    "resolution": (int, "meshes: occupancy grid points per axis (default 128)"),
    "size": (int, "NeRF scenes: image side in pixels the views are resized to"),
    "samples": (int, "NeRF scenes: coarse samples per ray"),
    "fine": (int, "NeRF scenes: fine (importance) samples per ray"),
    "networks": (int, "NeRF scenes: 2 = separate coarse and fine networks, both stored (NeRF); 1 = one for both"),
    "frame": (int, "animated images (GIF, APNG, WebP, multi-page TIFF): the frame to compress, from 0"),
}
# The limits each side checks (flags --max-x); the others do not apply there.
SOURCE_LIMITS = ("max_pixels", "max_resolution", "max_samples", "max_mesh_bytes", "max_scene_bytes", "max_json_bytes")
DECODE_LIMITS = ("max_pixels", "max_params", "max_weights", "max_generator_work", "max_macs", "max_resolution",
                 "max_samples", "max_orbit", "max_file_bytes")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("compress", help="fit a network to a signal and write an .inr file")
    p.add_argument("source", nargs="+", help="image file, mesh file or NeRF scene folder; - for an image on standard "
                   "input; several sources: -o names a folder, one .inr each")
    p.add_argument("-o", "--output", required=True, help="output .inr path (a folder for several sources); - for "
                   "standard output")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    add_config_flags(p)
    s = p.add_argument_group("signal (by kind)")
    for name, (typ, help_) in SIGNAL_OPTIONS.items():
        s.add_argument(f"--{name}", type=typ, help=help_)
    add_limit_flags(p, SOURCE_LIMITS)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_compress)

    d = sub.add_parser("decompress", help="decode an .inr file (image, grid, mesh...)")
    d.add_argument("input", help=".inr file; - for standard input")
    d.add_argument("-o", "--output", required=True,
                   help="output path, format from its suffix (or --format); - for standard output")
    d.add_argument("--format", help="output format: images png (default for -o -), npy, tif, webp...; occupancy npy "
                   "(default), ply, obj, stl, off; radiance npy (default), gif, mp4, folder (PNGs)")
    d.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    d.add_argument("--scale", type=float,
                   help="image (and NeRF view) size factor: above 1 the network is evaluated between the fitted pixels, below 1 "
                        "each pixel averages the area it covers (docs/resolution.md)")
    d.add_argument("--resolution", type=int, help="occupancy: grid points per axis (default: the encoded one)")
    d.add_argument("--device", default="cpu")
    d.add_argument("--quiet", action="store_true", help="no progress bar (one shows when a decode takes over a second)")
    add_limit_flags(d, DECODE_LIMITS)
    d.set_defaults(handler=cmd_decompress)

    i = sub.add_parser("info", help="print an .inr file's header")
    i.add_argument("input", help=".inr file; - for standard input")
    i.add_argument("--json", action="store_true")
    add_limit_flags(i, DECODE_LIMITS)
    i.set_defaults(handler=cmd_info)

    n = sub.add_parser("inits", help="list the meta-learned initializations shipped with inrzip (for --init)")
    n.set_defaults(handler=cmd_inits)


def _signal_options(a: Any) -> dict[str, Any]:
    """Options for the signal loader: only those given (each kind ignores the others' options)."""
    given = {k: getattr(a, k) for k in SIGNAL_OPTIONS if getattr(a, k, None) is not None}
    return {"limits": limits_from_args(a), "progress": not a.quiet, **given}


def _fmt(v: Any) -> str:
    """A metric for people: four decimals, or n/a where it is undefined (SSIM under 11 pixels a side)."""
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else "n/a"
    return str(v)


_STDIN_IMAGE_BYTES = 1 << 30  # an image file on standard input: read whole, so bounded (pixels are checked after)


def _stdin_image(options: dict[str, Any]) -> Signal:
    """An image file piped in (``-``): its format is recognised from its bytes, and it is read as a file of that
    format would be (EXIF orientation, frames, the pixel limit). Meshes and scenes need a path (their readers go
    by suffix and side files)."""
    data = sys.stdin.buffer.read(_STDIN_IMAGE_BYTES + 1)
    if len(data) > _STDIN_IMAGE_BYTES:
        raise InrzipError(f"standard input holds over {_STDIN_IMAGE_BYTES} bytes; give the image as a path")
    suffix = image_suffix(data)
    if suffix is None:
        raise InrzipError("standard input is not an image inrzip can read; meshes and NeRF scenes are given as a path")
    with tempfile.TemporaryDirectory(prefix="inrzip-") as folder:
        path = Path(folder) / f"stdin{suffix}"
        path.write_bytes(data)
        try:
            return load(path, kind="image", **options)
        except InrzipError as exc:  # its messages name the file: here, the user's standard input
            raise type(exc)(str(exc).replace(str(path), "standard input")) from None


def cmd_compress(a: Any) -> int:
    if len(a.source) > 1:
        return _compress_each(a)
    source = a.source[0]
    check_output(a.output, a.force, source)  # before the fit, not after it
    _compress_one(a, source, a.output)
    return 0


def _compress_one(a: Any, source: str, output: str, json_now: bool = True) -> dict[str, Any]:
    """Fit ``source``, write ``output`` and print its report (text, or JSON with ``--json`` unless ``json_now`` is
    off: several sources print one JSON list at the end); the report."""
    signal = _stdin_image(_signal_options(a)) if source == STDIO else load(source, **_signal_options(a))
    enc = encode(signal, config_from_args(a))
    write_output(output, ".inr", lambda tmp: tmp.write_bytes(enc.data), a.force)
    report = {**enc.report, "output": output}
    if not a.json:
        _print_report(report, message_stream(output))
    elif json_now:
        print(json_text(report), file=message_stream(output))
    return report


def _compress_each(a: Any) -> int:
    """Several sources into the folder ``-o``, one ``STEM.inr`` each, fitted one after another with the same
    settings. Every output is checked before the first fit (a name taken, two sources of one stem); a source that
    fails is one error line and the others go on (nothing fitted is lost), and the status says that one failed."""
    folder = Path(a.output)
    if a.output == STDIO or not folder.is_dir():
        raise InrzipError(f"{a.output}: with several sources, -o names an existing folder (one .inr per source)")
    if STDIO in a.source:
        raise InrzipError("standard input (-) is one source; give it alone")
    outputs = [str(folder / f"{Path(src.rstrip('/')).stem}.inr") for src in a.source]
    twice = sorted({o for o in outputs if outputs.count(o) > 1})
    if twice:
        raise InrzipError(f"two sources would both be written to {twice[0]}; rename one or compress them apart")
    for src, out in zip(a.source, outputs):
        check_output(out, a.force, src)
    failed, reports = 0, []
    for k, (src, out) in enumerate(zip(a.source, outputs), 1):
        if not a.quiet:
            print(f"[{k}/{len(outputs)}] {src}", file=sys.stderr)
        try:
            reports.append({"source": src, **_compress_one(a, src, out, json_now=False)})
        except InrzipError as exc:
            failed += 1
            reports.append({"source": src, "output": out, "error": str(exc)})
            print(f"inrzip: error: {exc}", file=sys.stderr)
    if a.json:
        print(json_text(reports))
    if failed:
        print(f"inrzip: {failed} of {len(outputs)} sources failed; the others are written", file=sys.stderr)
    return 2 if failed else 0


def _print_report(r: dict[str, Any], out: TextIO) -> None:
    """A compress report for people: quality and rate, sizes, the fit, and its notes."""
    quality = "  ".join(f"{k.upper()} {_fmt(r[k])}" for k in ("psnr", "ssim", "iou") if k in r)
    rate = f"bpp {r['bpp']:.4f} (estimate {r['estimated_bpp']:.4f})" if "bpp" in r else ""
    depths = sorted(set(r.get("tensor_bits", {}).values()))
    bits = f"{r['bits']} bits" if len(depths) < 2 else f"{depths[0]}-{depths[-1]} bits per tensor (most {r['bits']})"
    if "target_bpp" in r:
        k = r.get("clip_k")  # None when each tensor has its own clipping (bit allocation)
        clip = f", clipping {k:.2f} std" if isinstance(k, (int, float)) else ""
        rate += f"; target {r['target_bpp']} bpp, {bits}{clip}"
    print(f"{r['output']}: {quality}  {rate}", file=out)
    print(f"  file {r['file_bytes']} B ({r['file_bytes'] / 1000:.2f} kB); params x bits estimate "
          f"{r['estimated_bytes']:.0f} B = {r['stored_values']} values x {bits}; "
          f"bzip2(pickle) {r['bzip2_pickle_bytes']} B", file=out)
    print(f"  fit {r['epochs']} epochs in {r['fit_seconds']:.1f} s; unquantized network "
          + "  ".join(f"{k[6:].upper()} {_fmt(v)}" for k, v in r.items() if k.startswith("float_")), file=out)
    for event in [*r.get("fit_events", []), *_qat_choice(r)]:
        print(f"  note: {event}", file=out)


def _qat_choice(r: dict[str, Any]) -> list[str]:
    """Which of QAT's two candidate codebooks the file keeps, with both decoded qualities."""
    scores = r.get("qat_candidates", {})
    if len(scores) < 2:
        return []
    names = {"training": "the codebooks QAT trained with", "fresh": "a fresh quantization of the final weights"}
    kept, other = r["qat_tables"], next(k for k in scores if k != r["qat_tables"])
    (metric, value), = scores[kept].items()
    return [f"the file keeps {names[kept]} ({metric.upper()} {_fmt(value)}; {names[other]}: "
            f"{_fmt(scores[other][metric])})"]


def output_format(cls: type[Signal], output: str, given: str | None) -> str:
    """The format a decoded ``cls`` signal is written in: ``--format``, else the output's suffix, else (standard
    output) the kind's default. Checked before decoding, so a typo costs nothing."""
    if given:
        fmt = given.lower().lstrip(".")
    elif output == STDIO:
        fmt = cls.formats[0]
    else:
        fmt = Path(output).suffix.lower().lstrip(".") or ("folder" if "folder" in cls.formats else "")
    if fmt not in cls.formats:
        shown = f"as {fmt!r}" if fmt else "without a suffix"
        raise InrzipError(f"cannot write the decoded {cls.kind} {shown}; give an output suffix or --format, one of "
                          f"{', '.join(cls.formats)}")
    if fmt == "folder" and output == STDIO:  # before the decode, not after it
        raise InrzipError("this output is a folder of files; give -o FOLDER, or --format for one file")
    return fmt


def cmd_decompress(a: Any) -> int:
    limits = limits_from_args(a)
    check_output(a.output, a.force, a.input)
    data = read_input(a.input, limits)
    meta = info(data, limits)
    cls = signal_class(meta["kind"])
    fmt = output_format(cls, a.output, a.format)
    note = cls.check_format(meta, fmt)
    options = {k: v for k in SIZE_OPTIONS if (v := getattr(a, k)) is not None}  # api.decode refuses a kind's misfit
    header, out = decode(data, limits=limits, device=a.device, progress=not a.quiet, **options)
    suffix = "" if fmt == "folder" else f".{fmt}"
    write_output(a.output, suffix, lambda tmp: cls.save(out, tmp, header), a.force)
    shape = "x".join(str(s) for s in getattr(out, "shape", ()))
    print(f"{a.output}: {header['kind']} {shape}" + (f" ({note})" if note else ""), file=message_stream(a.output))
    return 0


def cmd_info(a: Any) -> int:
    limits = limits_from_args(a)
    meta = info(read_input(a.input, limits), limits)
    if a.json:
        print(json_text(meta))
    else:
        for k, v in meta.items():
            print(f"{k:>12}: {v}")
    return 0


def cmd_inits(_: Any) -> int:
    inits = available_inits()
    for name, e in inits.items():
        t = e.trained
        print(f"{name}: {describe_spec(e.spec)}; {t.get('method', '?')}, {t.get('outer_steps', '?')} tasks of "
              f"{t.get('crop', '?')}px crops from {len(t.get('images', []))} images; version {e.version}")
    if not inits:
        print("no initializations are installed")
    return 0
