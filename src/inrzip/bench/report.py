"""``inrzip report RESULTS.sqlite -o DIR``: a static web site of a results database, opened from disk.

``DIR/index.html`` has the set-averaged rate-distortion curves (PSNR and SSIM; interactive with the
plotly.js copied into ``DIR/assets``, and the ``inrzip plot`` PNG in their place where scripts do not
run), the BD-rate / BD-PSNR table against an anchor, and one link per image. ``DIR/images/<image>.html``
has that image's curves and BD table, a before/after slider, and every row with its file size and the
command that made it.

The slider compares the original with inrzip and with each classical codec at the nearest rate. Every
picture it shows is produced here from the real encoded file kept in the database (``files`` table):
``.inr`` files are decoded with ``inrzip.api.decode``, codec files with that codec's decoder, and the
PSNR of the decoded picture is measured again against the stored original (``sources`` table) and shown
beside the database's number. Rows whose file was not kept (``bench --no-files``, or a database from
before schema 2) are listed with "no file stored" and offer no picture.

Per image, the comparison points are inrzip's per-image Pareto frontier (at most ``points`` per method,
spread over the rate range) and, for each, every codec's row nearest in log-rate. The pictures show a
``view`` x ``view`` window at the image's centre (``view=0``: the whole image); metrics are over the
whole decoded image.

This module reads the database, decodes the stored files and chooses what each page holds; the HTML is
written by ``inrzip.bench.report_html``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..errors import InputError, InrzipError
from .db import ResultsDB, config_of
from .execute import crop_key
from .pareto import frontier_rows
from .plot import bd_table, method_curves, plot_rd, read_rows, safe_name
from .report_html import (
    HIDDEN_KEYS,
    bd_html,
    chart_spec,
    comparison_section,
    image_body,
    image_link,
    index_body,
    no_anchor_html,
    no_original_section,
    page,
    row_label,
    row_settings,
    rows_table,
    varying_settings,
    write_assets,
)

__all__ = ["report", "decode_file", "nearest_rate", "compress_command", "ReportSummary"]

Row = dict[str, Any]


@dataclass
class ReportSummary:
    """What ``report`` wrote, for the command line and the tests."""

    index: Path
    pages: list[Path] = field(default_factory=list)
    pictures: int = 0  # decoded pictures written
    rows_without_file: int = 0
    interactive: bool = False  # plotly.js available (else the static PNGs only)
    measured: list[dict[str, Any]] = field(default_factory=list)  # per picture: row psnr vs re-measured psnr


# ---- decoding ------------------------------------------------------------------------------------

def decode_file(fmt: str, data: bytes) -> np.ndarray:
    """An encoded file as (H, W, 3) uint8: ``.inr`` through ``inrzip.api.decode``, others by their codec."""
    if fmt == "inr":
        from ..api import decode

        return _rgb8(np.asarray(decode(data)[1]))
    from .codecs import get_codec

    return _rgb8(np.asarray(get_codec(fmt).decode(data)))


def _rgb8(a: np.ndarray) -> np.ndarray:
    """Any decoded image as 8-bit RGB, as the codecs and the stored originals are (grey repeated, alpha dropped)."""
    if a.dtype == np.uint16:
        a = np.clip(np.rint(a.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    a = np.repeat(a[..., :1], 3, axis=2) if a.shape[2] < 3 else a[..., :3]
    return np.ascontiguousarray(a.astype(np.uint8))


def _png(a: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 picture as PNG bytes (lossless, so the page shows the decoded pixels exactly)."""
    buf = io.BytesIO()
    Image.fromarray(a, "RGB").save(buf, "PNG")
    return buf.getvalue()


def _window(a: np.ndarray, view: int) -> np.ndarray:
    """The ``view`` x ``view`` centre of an image (all of it if smaller, or if ``view`` is 0)."""
    h, w = a.shape[:2]
    if view <= 0 or (h <= view and w <= view):
        return a
    vh, vw = min(h, view), min(w, view)
    top, left = (h - vh) // 2, (w - vw) // 2
    return np.ascontiguousarray(a[top:top + vh, left:left + vw])


# ---- choosing what to compare --------------------------------------------------------------------

def nearest_rate(rows: Sequence[Row], bpp: float) -> Row | None:
    """The row closest to ``bpp`` in log-rate (ties: the lower rate), None if ``rows`` is empty."""
    return min(rows, key=lambda r: (abs(math.log(r["bpp"] / bpp)), r["bpp"]), default=None)


def _spread(front: list[Row], k: int) -> list[Row]:
    """At most ``k`` frontier points, evenly spread from the lowest to the highest rate."""
    if len(front) <= k:
        return front
    idx = sorted({round(i * (len(front) - 1) / (k - 1)) for i in range(k)}) if k > 1 else [len(front) - 1]
    return [front[i] for i in idx]


def _is_fit(row: Row) -> bool:
    """Whether the row is an inrzip fit (the side the comparison is built around), not a classical codec."""
    return config_of(row).get("kind") == "fit"


# ---- the command that made a row -----------------------------------------------------------------

def compress_command(params: dict[str, Any], bits: int, path: str, out: str) -> str:
    """The ``inrzip compress`` line with a fit task's settings (flags from the config fields' own flags)."""
    import shlex

    from ..config import CompressConfig, FitConfig, option_fields

    flags = {f.name: f.metadata.get("flag") or "--" + f.name.replace("_", "-")
             for owner in (CompressConfig, FitConfig) for f in option_fields(owner)}
    parts = ["inrzip", "compress", path, "-o", out]
    for name, value in sorted(params.items()):
        if name in HIDDEN_KEYS or name not in flags:
            continue
        if isinstance(value, bool):
            parts.append(flags[name] if value else "--no-" + flags[name][2:])
        elif isinstance(value, (list, tuple)):
            parts += [flags[name], *map(str, value)]
        else:
            parts += [flags[name], str(value)]
    parts += ["--bits", str(bits)]
    return shlex.join(parts)


def _made_by(row: Row, task: dict[str, Any], path: str | None, out: str) -> dict[str, str]:
    """How the row's file was made: the recorded command, and the single command (or call) it equals."""
    params = config_of(row)
    ran = task.get("command") or "run from Python (inrzip.bench.runner.run_tasks); no command line recorded"
    crop = params.get("crop")
    where = f" on the crop [top, left, h, w] = {crop} of the image" if crop else ""
    if params.get("kind") == "fit":
        single = compress_command(params, row["bits"], path or f"{row['image']}.png", out)
        note = (f"the bench fits once{where} and writes each bit depth from that fit"
                + ("; compress takes whole images, so crop first" if crop else ""))
    else:
        single = (f"codec {row['method']} at quality {params.get('quality')} with settings "
                  f"{json.dumps(params.get('settings', {}), sort_keys=True)}{where}")
        note = "inrzip.bench.codecs.get_codec(name).encode(rgb, quality)"
    return {"ran": ran, "single": single, "note": note}


# ---- the site ------------------------------------------------------------------------------------

def _default_anchor(rows: list[Row], anchor: str | None) -> str:
    """The BD anchor: the one asked for (checked), else jpeg, else the first codec, else the first method."""
    methods = sorted({r["method"] for r in rows})
    if anchor is not None:
        if anchor not in methods:
            raise InputError(f"unknown anchor {anchor!r}; choose from {', '.join(methods)}")
        return anchor
    codecs = sorted({r["method"] for r in rows if not _is_fit(r)})
    return "jpeg" if "jpeg" in codecs else (codecs or methods)[0]


@dataclass
class _Context:
    """What every image page needs from the database, read once."""

    db: ResultsDB
    db_path: Path
    site: Path
    tasks: dict[str, dict[str, Any]]
    files: set[tuple[str, int]]
    paths: dict[tuple[str, str], str]
    anchor: str
    varying: dict[str, set[str]]
    view: int
    points: int
    interactive: bool
    summary: ReportSummary


def report(db_path: str | Path, out_dir: str | Path, anchor: str | None = None, view: int = 256,
           points: int = 6) -> ReportSummary:
    """Write the site for ``db_path`` into ``out_dir`` (created; files of an older report are replaced)."""
    if view < 0 or points < 1:
        raise InputError("--view must be >= 0 (0: whole images) and --points >= 1")
    rows = read_rows(db_path)
    site = Path(out_dir)
    try:
        site.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{site}: cannot create the report folder ({exc})") from None
    summary = ReportSummary(index=site / "index.html")
    summary.interactive = write_assets(site)
    plot_rd(db_path, site / "rd.png")
    with ResultsDB(db_path) as db:
        ctx = _Context(db, Path(db_path), site, db.tasks(), db.file_keys(), db.source_paths(),
                       _default_anchor(rows, anchor), varying_settings(rows), view, points, summary.interactive, summary)
        images = sorted({r["image"] for r in rows})
        links = [_image_page(ctx, image, [r for r in rows if r["image"] == image]) for image in images]
    summary.rows_without_file = sum((r["task_key"], r["bits"]) not in ctx.files for r in rows)
    summary.index.write_text(_index(ctx, rows, links), encoding="utf-8")
    return summary


def _index(ctx: _Context, rows: list[Row], links: list[str]) -> str:
    """``index.html``: curves averaged over the images, the BD table against the anchor, one link per image."""
    curves = method_curves(rows)
    charts = [chart_spec("rd-psnr", curves, "psnr", "PSNR vs rate, mean over images", ctx.varying),
              chart_spec("rd-ssim", curves, "ssim", "SSIM vs rate, mean over images", ctx.varying)]
    commands = sorted({t["command"] for t in ctx.tasks.values() if t.get("command")})
    kept = len(rows) - ctx.summary.rows_without_file
    bd = bd_html(bd_table(ctx.db_path, ctx.anchor), ctx.anchor, "over the images")
    body = index_body(ctx.db_path.name, rows, len(ctx.tasks), list(curves), kept, charts, bd, links, commands)
    return page(f"inrzip results: {ctx.db_path.name}", body, 0, ctx.interactive)


def _image_page(ctx: _Context, image: str, rows: list[Row]) -> str:
    """Write ``images/<image>.html`` and its pictures; return the index's list item for it."""
    name = safe_name(image, "image")
    folder = ctx.site / "images" / name
    (folder / "files").mkdir(parents=True, exist_ok=True)
    per_point = method_curves(rows)  # one image: each configuration's own point
    ids = {(r["method"], r["config"], r["bits"]): _row_id(r) for r in rows}
    plot_rd(ctx.db_path, folder / "rd.png", image=image)
    charts = [chart_spec("rd-psnr", per_point, "psnr", f"PSNR vs rate, {image}", ctx.varying, ids),
              chart_spec("rd-ssim", per_point, "ssim", f"SSIM vs rate, {image}", ctx.varying, ids)]
    sections, thumb = [], None
    for (sha, crop), group in sorted(_by_source(ctx, rows).items(), key=lambda kv: kv[0][1]):
        html_, original = _comparison(ctx, name, folder, sha, crop, group, len(sections))
        sections.append(html_)
        thumb = thumb or original
    methods = {r["method"] for r in rows}
    bd = (bd_html(bd_table(ctx.db_path, ctx.anchor, image), ctx.anchor, f"on {image}") if ctx.anchor in methods
          else no_anchor_html(ctx.anchor))
    table = rows_table([(r, (r["task_key"], r["bits"]) in ctx.files,
                         _made_by(r, ctx.tasks.get(r["task_key"], {}), None, "out")["ran"]) for r in rows],
                       ctx.varying)
    path = ctx.site / "images" / f"{name}.html"
    body = image_body(image, name, sections, charts, bd, table)
    path.write_text(page(f"{image}: inrzip results", body, 1, ctx.interactive), encoding="utf-8")
    ctx.summary.pages.append(path)
    return image_link(image, name, thumb, len(rows))


def _row_id(row: Row) -> str:
    """A short id of a row (task and bit depth) that names its picture and links chart points to the slider."""
    return f"{row['task_key'][:16]}-{row['bits']}"


def _by_source(ctx: _Context, rows: list[Row]) -> dict[tuple[str, str], list[Row]]:
    """Rows grouped by the picture they encoded (image content and crop); one group in most sweeps."""
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        sha = (ctx.tasks.get(r["task_key"]) or {}).get("image_sha256") or ""
        out.setdefault((sha, crop_key(config_of(r))), []).append(r)
    return out


def _comparison(ctx: _Context, name: str, folder: Path, sha: str, crop: str, rows: list[Row],
                index: int) -> tuple[str, str | None]:
    """The slider section of one source picture, and the path of its original (None: no original stored)."""
    where = f"crop {crop}" if crop else "whole image"
    png = ctx.db.source(sha, crop) if sha else None
    if png is None:
        return no_original_section(where), None
    source = _rgb8(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    suffix = f"-{index}" if index else ""
    original = f"{name}/original{suffix}.png"
    (ctx.site / "images" / original).write_bytes(_png(_window(source, ctx.view)))
    entries, groups = _comparison_points(ctx, rows, source, folder, name, sha, crop)
    h, w = _window(source, ctx.view).shape[:2]
    scale = max(1, 512 // max(h, w))
    data = {"id": f"cmp{index}", "original": original, "width": w * scale, "entries": entries, "groups": groups}
    return comparison_section(data, where, (h, w), (h, w) != source.shape[:2], scale), original


def _comparison_points(ctx: _Context, rows: list[Row], source: np.ndarray, folder: Path, name: str, sha: str,
                       crop: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """inrzip's spread frontier points, each with every codec's row nearest in log-rate: (entries by id, groups)."""
    fits = [r for r in rows if _is_fit(r)]
    ours_methods = sorted({r["method"] for r in fits}) or sorted({r["method"] for r in rows})[:1]
    others = sorted({r["method"] for r in rows} - set(ours_methods))
    entries: dict[str, dict[str, Any]] = {}
    groups = []
    for method in ours_methods:
        front = frontier_rows([r for r in rows if r["method"] == method], "bpp", "psnr")
        for point in _spread(front, ctx.points):
            nearest = {m: nearest_rate([r for r in rows if r["method"] == m], point["bpp"]) for m in others}
            for r in [point, *nearest.values()]:
                if r is not None and _row_id(r) not in entries:
                    entries[_row_id(r)] = _entry(ctx, r, source, folder, name, sha, crop)
            groups.append({"label": f"{row_label(point, ctx.varying)}: {point['bpp']:.3f} bpp, {point['psnr']:.2f} dB",
                           "ours": _row_id(point), "others": [_row_id(r) for r in nearest.values() if r]})
    return entries, groups


def _entry(ctx: _Context, row: Row, source: np.ndarray, folder: Path, name: str, sha: str, crop: str) -> dict[str, Any]:
    """One comparison point: the row's numbers, its decoded picture (or why there is none), its file."""
    from .codecs import CODECS, rd_metrics

    rid = _row_id(row)
    task = ctx.tasks.get(row["task_key"], {})
    stored = ctx.db.file(row["task_key"], row["bits"])
    suffix = ".inr" if _is_fit(row) else getattr(CODECS.get(row["method"]), "suffix", ".bin")
    out_name = f"{safe_name(row['method'], 'image')}-{rid}{suffix}"
    entry = {"id": rid, "label": row_label(row, ctx.varying), "settings": row_settings(row), "method": row["method"],
             "bits": row["bits"], "bpp": row["bpp"], "bytes": row["file_bytes"], "psnr": row["psnr"],
             "ssim": row["ssim"], "img": None, "file": None, "psnr_shown": None, "note": "",
             "made": _made_by(row, task, ctx.paths.get((sha, crop)), out_name)}
    if stored is None:
        entry["note"] = "no file stored"
        return entry
    fmt, data = stored
    (folder / "files" / out_name).write_bytes(data)
    entry["file"] = f"{name}/files/{out_name}"
    try:
        decoded = decode_file(fmt, data)
    except InrzipError as exc:
        entry["note"] = f"cannot decode here: {exc}"
        return entry
    if decoded.shape != source.shape:
        entry["note"] = f"decoded shape {decoded.shape} differs from the original {source.shape}"
        return entry
    measured = rd_metrics(source, decoded, len(data))
    entry["psnr_shown"] = measured["psnr"]
    ctx.summary.measured.append({"id": rid, "method": row["method"], "psnr_db": row["psnr"],
                                 "psnr_decoded": measured["psnr"], "bytes_db": row["file_bytes"], "bytes_file": len(data)})
    picture = f"{name}/{rid}.png"
    (ctx.site / "images" / picture).write_bytes(_png(_window(decoded, ctx.view)))
    entry["img"] = picture
    ctx.summary.pictures += 1
    return entry
