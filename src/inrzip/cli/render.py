"""``inrzip render``: decode a radiance-field file into views (PNG folder, GIF, MP4) and, given the
source scene, score the held-out views (PSNR/SSIM per view and mean, as ``compress`` reported).
``render_file`` is the Python entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from ..api import decode, info, inr_bytes
from ..errors import InputError
from ..jsontext import json_text
from ..limits import DEFAULT_LIMITS, Limits
from ..signals.radiance import RadianceSignal, compare_views, ground_truth
from .codec import output_format
from .files import add_limit_flags, check_output, limits_from_args, message_stream, read_input, write_output

__all__ = ["render_file", "add_parsers"]


def render_file(path: str | Path | bytes, output: str | Path, split: str = "test", orbit: int = 0,
                scene: str | Path | None = None, scale: float = 1.0, device: str = "cpu",
                progress: bool = True, limits: Limits = DEFAULT_LIMITS,
                save: Callable[[np.ndarray, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Decode ``path`` (a file, or the bytes of one) and write its views to ``output`` (or hand them to
    ``save``); with ``scene``, per-view and mean PSNR/SSIM."""
    data = inr_bytes(path, limits)  # a path is read within the file-size limit, as decompress reads it
    meta = info(data, limits)
    if meta["kind"] != RadianceSignal.kind:
        raise InputError(f"this file holds an {meta['kind']} signal, not a radiance field: `inrzip render` is for "
                         "NeRF scenes (use `inrzip decompress`)")
    if scene is not None and (orbit or scale != 1.0):
        raise InputError("--scene scores the held-out views: use it with --split test and --scale 1")
    truth = ground_truth(scene, meta) if scene is not None else None  # a wrong folder fails before the render
    header, views = decode(data, limits=limits, device=device, split=split, orbit=orbit, scale=scale, progress=progress)
    if save is None:
        RadianceSignal.save(views, Path(output), header)
    else:
        save(views, header)
    out: dict[str, Any] = {"output": str(output), "views": int(len(views)), "height": int(views.shape[1]),
                           "width": int(views.shape[2]), "file_bytes": len(data)}
    if truth is not None:
        out["per_view"] = [compare_views(v[None], t[None]) for v, t in zip(views, truth)]
        out.update(compare_views(views, truth))
    return out


def _print(r: dict[str, Any], out: TextIO) -> None:
    print(f"{r['output']}: {r['views']} views at {r['width']}x{r['height']} from a {r['file_bytes']} B file", file=out)
    if "psnr" not in r:
        return
    print(f"{'view':>6} {'PSNR dB':>8} {'SSIM':>7}", file=out)
    for i, v in enumerate(r["per_view"]):
        print(f"{i:>6} {v['psnr']:>8.2f} {v['ssim']:>7.4f}", file=out)
    print(f"{'mean':>6} {r['psnr']:>8.2f} {r['ssim']:>7.4f}", file=out)


def add_parsers(sub: Any) -> None:
    """Add ``render`` to the inrzip CLI."""
    p = sub.add_parser("render", help="render a radiance-field .inr: held-out views or an orbit video")
    p.add_argument("input", help=".inr file of a radiance field; - for standard input")
    p.add_argument("-o", "--output", required=True, help="folder (PNGs), .gif, .mp4 or .npy; - for standard output")
    p.add_argument("--format", help="npy (default for -o -), gif, mp4 or folder, when the output's suffix does not say")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--split", default="test", choices=["test"], help="the held-out cameras stored in the file")
    what.add_argument("--orbit", type=int, default=0, metavar="N", help="N frames of a turntable / spiral")
    p.add_argument("--scene", help="source scene folder: PSNR/SSIM of the held-out views against it")
    p.add_argument("--scale", type=float, default=1.0, help="resolution factor (default 1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_limit_flags(p, ("max_pixels", "max_params", "max_weights", "max_generator_work", "max_macs", "max_samples",
                        "max_orbit", "max_file_bytes"))
    p.set_defaults(handler=cmd_render)


def cmd_render(a: Any) -> int:
    limits = limits_from_args(a)
    check_output(a.output, a.force, a.input)
    fmt = output_format(RadianceSignal, a.output, a.format)
    RadianceSignal.check_format({}, fmt)  # its check reads no header field
    suffix = "" if fmt == "folder" else f".{fmt}"

    def save(views: np.ndarray, header: dict[str, Any]) -> None:
        write_output(a.output, suffix, lambda tmp: RadianceSignal.save(views, tmp, header), a.force)

    r = render_file(read_input(a.input, limits), a.output, a.split, a.orbit, a.scene, a.scale, a.device, not a.quiet,
                    limits, save)
    out = message_stream(a.output)
    if a.json:
        print(json_text(r), file=out)
    else:
        _print(r, out)
    return 0
