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
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..errors import InputError, InrzipError
from .db import ResultsDB, config_of
from .execute import crop_key
from .pareto import frontier_rows
from .plot import bd_table, method_curves, plot_rd, read_rows

__all__ = ["report", "decode_file", "nearest_rate", "compress_command", "ReportSummary"]

Row = dict[str, Any]
_HIDDEN = ("kind", "method", "bits", "crop", "settings")  # config keys not shown in a point's label


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
    return config_of(row).get("kind") == "fit"


def _varying(rows: Sequence[Row]) -> dict[str, set[str]]:
    """Per method, the settings that differ between its rows: what tells its points apart in a label."""
    values: dict[str, dict[str, set[str]]] = {}
    for r in rows:
        for k, v in config_of(r).items():
            values.setdefault(r["method"], {}).setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    return {m: {k for k, vs in kv.items() if len(vs) > 1 and k not in _HIDDEN} for m, kv in values.items()}


def _label(row: Row, varying: dict[str, set[str]] | None = None) -> str:
    """"doh 8 bits (arch=28x9)": the method, its rate knob, and the swept settings that set this point apart."""
    params = config_of(row)
    keys = (varying or {}).get(row["method"], set()) - {"quality"}
    extra = ", ".join(f"{k}={params[k]}" for k in sorted(keys) if k in params)
    what = f"{row['bits']} bits" if row["bits"] else f"quality {params.get('quality')}"
    return f"{row['method']} {what}" + (f" ({extra})" if extra else "")


def _settings(row: Row) -> str:
    """Every setting of a row's task, for hover text and tables."""
    params = config_of(row)
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("kind", "method"))


# ---- the command that made a row -----------------------------------------------------------------

def compress_command(params: dict[str, Any], bits: int, path: str, out: str) -> str:
    """The ``inrzip compress`` line with a fit task's settings (flags from the config fields' own flags)."""
    import shlex

    from ..config import CompressConfig, FitConfig, option_fields

    flags = {f.name: f.metadata.get("flag") or "--" + f.name.replace("_", "-")
             for owner in (CompressConfig, FitConfig) for f in option_fields(owner)}
    parts = ["inrzip", "compress", path, "-o", out]
    for name, value in sorted(params.items()):
        if name in _HIDDEN or name not in flags:
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

def _asset(name: str) -> str:
    return (resources.files("inrzip.bench") / "report_assets" / name).read_text(encoding="utf-8")


def _write_assets(site: Path) -> bool:
    """CSS, the page script and, when the ``report`` extra is installed, plotly.js (no CDN: opens offline)."""
    assets = site / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for name in ("report.css", "report.js"):
        (assets / name).write_text(_asset(name), encoding="utf-8")
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        print("inrzip: plotly is not installed, so the charts are static PNGs (pip install 'inrzip[report]')")
        return False
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    return True


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _json_script(element_id: str, obj: Any) -> str:
    """JSON embedded in the page (file:// pages cannot fetch files); ``</`` escaped so it cannot end the tag."""
    text = json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _page(title: str, body: str, depth: int, interactive: bool) -> str:
    up = "../" * depth
    plotly = f'<script src="{up}assets/plotly.min.js"></script>' if interactive else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_esc(title)}</title>'
            f'<link rel="stylesheet" href="{up}assets/report.css">{plotly}</head>\n'
            f'<body>{body}<script src="{up}assets/report.js"></script></body></html>\n')


def _traces(curves: dict[str, list[Row]], metric: str, varying: dict[str, set[str]],
            ids: dict[tuple, str] | None = None) -> list[dict]:
    """plotly traces: every point of a method faintly, its Pareto frontier as a line."""
    traces = []
    for i, (method, pts) in enumerate(sorted(curves.items())):
        pts = [p for p in pts if p.get(metric) is not None]
        if not pts:
            continue
        color = _COLORS[i % len(_COLORS)]
        front = frontier_rows(pts, "bpp", metric)
        for kind, sel in (("points", pts), ("frontier", front)):
            traces.append({
                "type": "scatter", "mode": "markers" if kind == "points" else "lines+markers",
                "name": method, "legendgroup": method, "showlegend": kind == "frontier",
                "x": [p["bpp"] for p in sel], "y": [p[metric] for p in sel],
                "text": [f"{_esc(_label(p, varying))}<br>{_esc(_settings(p))}" for p in sel],
                "hovertemplate": "%{text}<br>%{x:.4f} bpp, %{y:.4f}<extra></extra>",
                "marker": {"color": color, "size": 6 if kind == "points" else 7,
                           "opacity": 0.35 if kind == "points" else 1.0},
                "line": {"color": color, "width": 2},
                "customdata": [ids.get((p["method"], p["config"], p["bits"])) if ids else None for p in sel],
            })
    return traces


_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def _chart_spec(div_id: str, curves: dict[str, list[Row]], metric: str, title: str, varying: dict[str, set[str]],
                ids: dict[tuple, str] | None = None) -> dict[str, Any]:
    label = "PSNR (dB)" if metric == "psnr" else metric.upper()
    return {"id": div_id, "traces": _traces(curves, metric, varying, ids), "layout": {
        "title": {"text": title}, "xaxis": {"title": {"text": "bits per pixel (real file bytes)"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": label}}, "hovermode": "closest", "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2}, "height": 440}}


def _chart_divs(charts: list[dict[str, Any]], png: str) -> str:
    cells = "".join(f'<div class="chart rd-chart" id="{c["id"]}"><img class="fallback" src="{png}" '
                    f'alt="rate-distortion curves (static PNG)"></div>' for c in charts)
    return f'<div class="charts">{cells}</div><p class="small">Static PNG of these curves: <a href="{png}">{png}</a></p>'


def _bd_html(table: list[Row], anchor: str, what: str) -> str:
    if not table:
        return f"<p>No BD table {what}: no other method to compare with {_esc(anchor)}.</p>"
    def cells(r: Row) -> str:
        rate = "-" if r["bd_rate"] is None else f"{r['bd_rate']:+.1f} %"
        psnr = "-" if r["bd_psnr"] is None else f"{r['bd_psnr']:+.2f} dB"
        return f"<tr><td>{_esc(r['method'])}</td><td>{rate}</td><td>{psnr}</td><td>{r['images']}</td></tr>"

    rows = "".join(cells(r) for r in sorted(table, key=lambda r: (r["bd_rate"] is None, r["bd_rate"] or 0.0)))
    return (f'<table class="bd"><caption>BD-rate and BD-PSNR {what} against <b>{_esc(anchor)}</b> '
            f'(negative BD-rate: fewer bits at equal PSNR; "-": the curves do not overlap)</caption>'
            f"<thead><tr><th>method</th><th>BD-rate</th><th>BD-PSNR</th><th>images</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _default_anchor(rows: list[Row], anchor: str | None) -> str:
    methods = sorted({r["method"] for r in rows})
    if anchor is not None:
        if anchor not in methods:
            raise InputError(f"unknown anchor {anchor!r}; choose from {', '.join(methods)}")
        return anchor
    codecs = sorted({r["method"] for r in rows if not _is_fit(r)})
    return "jpeg" if "jpeg" in codecs else (codecs or methods)[0]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "image"


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
    summary.interactive = _write_assets(site)
    plot_rd(db_path, site / "rd.png")
    with ResultsDB(db_path) as db:
        ctx = _Context(db, Path(db_path), site, db.tasks(), db.file_keys(), db.source_paths(),
                       _default_anchor(rows, anchor), _varying(rows), view, points, summary.interactive, summary)
        images = sorted({r["image"] for r in rows})
        links = [_image_page(ctx, image, [r for r in rows if r["image"] == image]) for image in images]
    summary.rows_without_file = sum((r["task_key"], r["bits"]) not in ctx.files for r in rows)
    summary.index.write_text(_index(ctx, rows, links), encoding="utf-8")
    return summary


def _index(ctx: _Context, rows: list[Row], links: list[str]) -> str:
    curves = method_curves(rows)
    charts = [_chart_spec("rd-psnr", curves, "psnr", "PSNR vs rate, mean over images", ctx.varying),
              _chart_spec("rd-ssim", curves, "ssim", "SSIM vs rate, mean over images", ctx.varying)]
    n_img = len({r["image"] for r in rows})
    commands = sorted({t["command"] for t in ctx.tasks.values() if t.get("command")})
    kept = len(rows) - ctx.summary.rows_without_file
    body = (
        f"<header><h1>inrzip results: {_esc(ctx.db_path.name)}</h1>"
        f"<p>{len(rows)} rows from {len(ctx.tasks)} tasks, {n_img} images, methods "
        f"{_esc(', '.join(sorted(curves)))}. {kept} of {len(rows)} rows have their encoded file stored"
        + ("" if kept == len(rows) else "; the others show no picture (bench --no-files, or an older database)")
        + ".</p></header>"
        "<section><h2>Rate-distortion, mean over images</h2>"
        "<p class=\"small\">One point per configuration: its mean bpp and mean PSNR/SSIM over the images its "
        "method ran on; lines are the Pareto frontiers. Hover for the settings.</p>"
        + _chart_divs(charts, "rd.png") + "</section>"
        + "<section><h2>BD-rate</h2>" + _bd_html(bd_table(ctx.db_path, ctx.anchor), ctx.anchor, "over the images")
        + "</section><section><h2>Images</h2><ul class=\"images\">" + "".join(links) + "</ul></section>"
        + "<section><h2>Commands that made these results</h2>"
        + ("".join(f"<pre>{_esc(c)}</pre>" for c in commands) or "<p>None recorded (run from Python).</p>")
        + "</section>" + _json_script("charts", charts))
    return _page(f"inrzip results: {ctx.db_path.name}", body, 0, ctx.interactive)


def _image_page(ctx: _Context, image: str, rows: list[Row]) -> str:
    """Write ``images/<image>.html`` and its pictures; return the index's list item for it."""
    name = _safe(image)
    folder = ctx.site / "images" / name
    (folder / "files").mkdir(parents=True, exist_ok=True)
    per_point = method_curves(rows)  # one image: each configuration's own point
    ids = {(r["method"], r["config"], r["bits"]): _row_id(r) for r in rows}
    plot_rd(ctx.db_path, folder / "rd.png", image=image)
    charts = [_chart_spec("rd-psnr", per_point, "psnr", f"PSNR vs rate, {image}", ctx.varying, ids),
              _chart_spec("rd-ssim", per_point, "ssim", f"SSIM vs rate, {image}", ctx.varying, ids)]
    sections, thumb = [], None
    for (sha, crop), group in sorted(_by_source(ctx, rows).items(), key=lambda kv: kv[0][1]):
        html_, original = _comparison(ctx, image, name, folder, sha, crop, group, len(sections))
        sections.append(html_)
        thumb = thumb or original
    methods = {r["method"] for r in rows}
    bd = (_bd_html(bd_table(ctx.db_path, ctx.anchor, image), ctx.anchor, f"on {image}") if ctx.anchor in methods
          else f"<p>No BD table: the anchor {_esc(ctx.anchor)} has no rows on this image.</p>")
    body = (f'<header><p><a href="../index.html">&larr; all images</a></p><h1>{_esc(image)}</h1></header>'
            + "".join(sections)
            + "<section><h2>Rate-distortion on this image</h2><p class=\"small\">Every configuration's point; "
            "lines are the Pareto frontiers. Click a point of the comparison to show it in the slider.</p>"
            + _chart_divs(charts, f"{name}/rd.png") + "</section>"
            + "<section><h2>BD-rate on this image</h2>" + bd + "</section>"
            + _rows_table(ctx, rows, name) + _json_script("charts", charts))
    page = ctx.site / "images" / f"{name}.html"
    page.write_text(_page(f"{image}: inrzip results", body, 1, ctx.interactive), encoding="utf-8")
    ctx.summary.pages.append(page)
    img = f'<img src="images/{thumb}" alt="" class="thumb">' if thumb else ""
    return f'<li><a href="images/{name}.html">{img}<span>{_esc(image)}</span></a> ({len(rows)} rows)</li>'


def _row_id(row: Row) -> str:
    return f"{row['task_key'][:16]}-{row['bits']}"


def _by_source(ctx: _Context, rows: list[Row]) -> dict[tuple[str, str], list[Row]]:
    """Rows grouped by the picture they encoded (image content and crop); one group in most sweeps."""
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        sha = (ctx.tasks.get(r["task_key"]) or {}).get("image_sha256") or ""
        out.setdefault((sha, crop_key(config_of(r))), []).append(r)
    return out


def _comparison(ctx: _Context, image: str, name: str, folder: Path, sha: str, crop: str, rows: list[Row],
                index: int) -> tuple[str, str | None]:
    """The slider section of one source picture: original vs inrzip vs each codec at the nearest rate."""
    sid = f"cmp{index}"
    where = f"crop {crop}" if crop else "whole image"
    png = ctx.db.source(sha, crop) if sha else None
    if png is None:
        return (f'<section><h2>Comparison ({_esc(where)})</h2><p class="missing">No original stored for this '
                "picture (a database from before schema 2, or bench --no-files), so no comparison.</p></section>",
                None)
    source = _rgb8(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    suffix = f"-{index}" if index else ""
    original = f"{name}/original{suffix}.png"
    (ctx.site / "images" / original).write_bytes(_png(_window(source, ctx.view)))
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
            groups.append({"label": f"{_label(point, ctx.varying)}: {point['bpp']:.3f} bpp, {point['psnr']:.2f} dB",
                           "ours": _row_id(point), "others": [_row_id(r) for r in nearest.values() if r]})
    h, w = _window(source, ctx.view).shape[:2]
    scale = max(1, 512 // max(h, w))
    data = {"id": sid, "original": original, "width": w * scale, "entries": entries, "groups": groups}
    body = (f'<section class="comparison" id="{sid}"><h2>Before / after ({_esc(where)}'
            + (f", centre {w}x{h} window" if (h, w) != source.shape[:2] else "") + ")</h2>"
            '<p class="small">Pictures decoded from the stored files (inrzip files with inrzip.api.decode, '
            "codec files with the codec's decoder). Drag the slider: the left picture is shown left of it.</p>"
            f'<div class="controls"><label>rate point <select id="{sid}-group"></select></label> '
            f'<label>left <select id="{sid}-left"></select></label> '
            f'<label>right <select id="{sid}-right"></select></label></div>'
            f'<div class="compare" id="{sid}-view" style="--pos:50%;width:{w * scale}px">'
            f'<img class="right" id="{sid}-right-img" alt="right picture" src="{original}">'
            f'<img class="left" id="{sid}-left-img" alt="left picture" src="{original}">'
            f'<div class="divider"></div><span class="tag tag-left" id="{sid}-left-tag"></span>'
            f'<span class="tag tag-right" id="{sid}-right-tag"></span></div>'
            f'<input type="range" class="compare-slider" id="{sid}-slider" min="0" max="100" value="50" step="0.5" '
            f'aria-label="before/after position" style="width:{w * scale}px">'
            f'<table class="points" id="{sid}-table"></table></section>'
            + _json_script(f"{sid}-data", data))
    return body, original


def _entry(ctx: _Context, row: Row, source: np.ndarray, folder: Path, name: str, sha: str, crop: str) -> dict[str, Any]:
    """One comparison point: the row's numbers, its decoded picture (or why there is none), its file."""
    from .codecs import CODECS, rd_metrics

    rid = _row_id(row)
    task = ctx.tasks.get(row["task_key"], {})
    stored = ctx.db.file(row["task_key"], row["bits"])
    suffix = ".inr" if _is_fit(row) else getattr(CODECS.get(row["method"]), "suffix", ".bin")
    out_name = f"{_safe(row['method'])}-{rid}{suffix}"
    entry = {"id": rid, "label": _label(row, ctx.varying), "settings": _settings(row), "method": row["method"],
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


def _rows_table(ctx: _Context, rows: list[Row], name: str) -> str:
    """Every row of the image: numbers, whether its file is stored, the command that made it."""
    body = []
    for r in sorted(rows, key=lambda r: (r["method"], r["bpp"])):
        has = (r["task_key"], r["bits"]) in ctx.files
        task = ctx.tasks.get(r["task_key"], {})
        made = _made_by(r, task, None, "out")["ran"]
        ssim = "-" if r["ssim"] is None else f"{r['ssim']:.4f}"
        body.append(f"<tr><td title=\"{_esc(_settings(r))}\">{_esc(_label(r, ctx.varying))}</td>"
                    f"<td>{r['bpp']:.4f}</td><td>{r['file_bytes']}</td>"
                    f"<td>{r['psnr']:.2f}</td><td>{ssim}</td>"
                    f"<td>{'stored' if has else '<span class=missing>no file stored</span>'}</td>"
                    f"<td><code>{_esc(made)}</code></td></tr>")
    return ("<section><h2>All results for this image</h2><table class=\"rows\"><thead><tr><th>method / setting</th>"
            "<th>bpp</th><th>bytes</th><th>PSNR</th><th>SSIM</th><th>file</th><th>made by</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")
