"""The HTML of ``inrzip report``: page frame, plotly chart specs, BD tables, the before/after slider, row tables.

Rendering only: ``inrzip.bench.report`` reads the database, decodes the files and chooses what to compare;
the functions here turn those rows and numbers into text (``write_assets`` alone writes files), so the look of
the site can change without touching what it contains. Row labels live here too, because the page is where
they are shown; ``report`` borrows them for its comparison data.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from ..jsontext import json_text
from .db import config_of
from .pareto import frontier_rows

__all__ = [
    "HIDDEN_KEYS", "varying_settings", "row_label", "row_settings", "write_assets", "esc", "json_script", "page",
    "chart_spec", "chart_divs", "bd_html", "no_anchor_html", "index_body", "image_body", "image_link",
    "comparison_section", "no_original_section", "rows_table",
]

Row = dict[str, Any]
HIDDEN_KEYS = ("kind", "method", "bits", "crop", "settings")  # config keys not shown in a point's label
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


# ---- naming a row ----------------------------------------------------------------------------------

def varying_settings(rows: Sequence[Row]) -> dict[str, set[str]]:
    """Per method, the settings that differ between its rows: what tells its points apart in a label."""
    values: dict[str, dict[str, set[str]]] = {}
    for r in rows:
        for k, v in config_of(r).items():
            values.setdefault(r["method"], {}).setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    return {m: {k for k, vs in kv.items() if len(vs) > 1 and k not in HIDDEN_KEYS} for m, kv in values.items()}


def row_label(row: Row, varying: dict[str, set[str]] | None = None) -> str:
    """"doh 8 bits (arch=28x9)": the method, its rate knob, and the swept settings that set this point apart."""
    params = config_of(row)
    keys = (varying or {}).get(row["method"], set()) - {"quality"}
    extra = ", ".join(f"{k}={params[k]}" for k in sorted(keys) if k in params)
    what = f"{row['bits']} bits" if row["bits"] else f"quality {params.get('quality')}"
    return f"{row['method']} {what}" + (f" ({extra})" if extra else "")


def row_settings(row: Row) -> str:
    """Every setting of a row's task, for hover text and tables."""
    params = config_of(row)
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("kind", "method"))


# ---- the frame every page shares -------------------------------------------------------------------

def _asset(name: str) -> str:
    return (resources.files("inrzip.bench") / "report_assets" / name).read_text(encoding="utf-8")


def write_assets(site: Path) -> bool:
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


def esc(v: Any) -> str:
    """Any value as text safe inside HTML and attribute values."""
    return html.escape(str(v), quote=True)


def json_script(element_id: str, obj: Any) -> str:
    """JSON embedded in the page (file:// pages cannot fetch files); ``</`` escaped so it cannot end the tag."""
    text = json_text(obj, indent=None, separators=(",", ":")).replace("</", "<\\/")  # no NaN: JSON.parse reads it
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def page(title: str, body: str, depth: int, interactive: bool) -> str:
    """A whole page ``depth`` folders below the site root, linking the shared assets relatively (opens from disk)."""
    up = "../" * depth
    plotly = f'<script src="{up}assets/plotly.min.js"></script>' if interactive else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{esc(title)}</title>'
            f'<link rel="stylesheet" href="{up}assets/report.css">{plotly}</head>\n'
            f'<body>{body}<script src="{up}assets/report.js"></script></body></html>\n')


# ---- charts and BD tables --------------------------------------------------------------------------

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
                "text": [f"{esc(row_label(p, varying))}<br>{esc(row_settings(p))}" for p in sel],
                "hovertemplate": "%{text}<br>%{x:.4f} bpp, %{y:.4f}<extra></extra>",
                "marker": {"color": color, "size": 6 if kind == "points" else 7,
                           "opacity": 0.35 if kind == "points" else 1.0},
                "line": {"color": color, "width": 2},
                "customdata": [ids.get((p["method"], p["config"], p["bits"])) if ids else None for p in sel],
            })
    return traces


def chart_spec(div_id: str, curves: dict[str, list[Row]], metric: str, title: str, varying: dict[str, set[str]],
               ids: dict[tuple, str] | None = None) -> dict[str, Any]:
    """One rate-distortion chart as data for the page script (``ids``: row ids, so a click selects a point)."""
    label = "PSNR (dB)" if metric == "psnr" else metric.upper()
    return {"id": div_id, "traces": _traces(curves, metric, varying, ids), "layout": {
        "title": {"text": title}, "xaxis": {"title": {"text": "bits per pixel (real file bytes)"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": label}}, "hovermode": "closest", "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2}, "height": 440}}


def chart_divs(charts: list[dict[str, Any]], png: str) -> str:
    """The chart containers, each showing the static PNG until (unless) plotly draws over it."""
    cells = "".join(f'<div class="chart rd-chart" id="{c["id"]}"><img class="fallback" src="{png}" '
                    f'alt="rate-distortion curves (static PNG)"></div>' for c in charts)
    return f'<div class="charts">{cells}</div><p class="small">Static PNG of these curves: <a href="{png}">{png}</a></p>'


def bd_html(table: list[Row], anchor: str, what: str) -> str:
    """The BD-rate / BD-PSNR table, best BD-rate first (methods whose curves do not overlap last)."""
    if not table:
        return f"<p>No BD table {what}: no other method to compare with {esc(anchor)}.</p>"
    def cells(r: Row) -> str:
        rate = "-" if r["bd_rate"] is None else f"{r['bd_rate']:+.1f} %"
        psnr = "-" if r["bd_psnr"] is None else f"{r['bd_psnr']:+.2f} dB"
        return f"<tr><td>{esc(r['method'])}</td><td>{rate}</td><td>{psnr}</td><td>{r['images']}</td></tr>"

    rows = "".join(cells(r) for r in sorted(table, key=lambda r: (r["bd_rate"] is None, r["bd_rate"] or 0.0)))
    return (f'<table class="bd"><caption>BD-rate and BD-PSNR {what} against <b>{esc(anchor)}</b> '
            f'(negative BD-rate: fewer bits at equal PSNR; "-": the curves do not overlap)</caption>'
            f"<thead><tr><th>method</th><th>BD-rate</th><th>BD-PSNR</th><th>images</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def no_anchor_html(anchor: str) -> str:
    """In place of an image's BD table when the anchor never ran on that image."""
    return f"<p>No BD table: the anchor {esc(anchor)} has no rows on this image.</p>"


# ---- the pages -------------------------------------------------------------------------------------

def index_body(db_name: str, rows: list[Row], n_tasks: int, methods: Sequence[str], kept: int,
               charts: list[dict[str, Any]], bd: str, links: list[str], commands: list[str]) -> str:
    """The body of ``index.html``: the summary line, mean curves, BD table, image links, recorded commands."""
    n_img = len({r["image"] for r in rows})
    return (
        f"<header><h1>inrzip results: {esc(db_name)}</h1>"
        f"<p>{len(rows)} rows from {n_tasks} tasks, {n_img} images, methods "
        f"{esc(', '.join(sorted(methods)))}. {kept} of {len(rows)} rows have their encoded file stored"
        + ("" if kept == len(rows) else "; the others show no picture (bench --no-files, or an older database)")
        + ".</p></header>"
        "<section><h2>Rate-distortion, mean over images</h2>"
        "<p class=\"small\">One point per configuration: its mean bpp and mean PSNR/SSIM over the images its "
        "method ran on; lines are the Pareto frontiers. Hover for the settings.</p>"
        + chart_divs(charts, "rd.png") + "</section>"
        + "<section><h2>BD-rate</h2>" + bd
        + "</section><section><h2>Images</h2><ul class=\"images\">" + "".join(links) + "</ul></section>"
        + "<section><h2>Commands that made these results</h2>"
        + ("".join(f"<pre>{esc(c)}</pre>" for c in commands) or "<p>None recorded (run from Python).</p>")
        + "</section>" + json_script("charts", charts))


def image_body(image: str, name: str, sections: list[str], charts: list[dict[str, Any]], bd: str,
               table: str) -> str:
    """The body of ``images/<name>.html``: comparisons, this image's curves and BD table, every row."""
    return (f'<header><p><a href="../index.html">&larr; all images</a></p><h1>{esc(image)}</h1></header>'
            + "".join(sections)
            + "<section><h2>Rate-distortion on this image</h2><p class=\"small\">Every configuration's point; "
            "lines are the Pareto frontiers. Click a point of the comparison to show it in the slider.</p>"
            + chart_divs(charts, f"{name}/rd.png") + "</section>"
            + "<section><h2>BD-rate on this image</h2>" + bd + "</section>"
            + table + json_script("charts", charts))


def image_link(image: str, name: str, thumb: str | None, n_rows: int) -> str:
    """The index's list item for one image page, with its original as thumbnail when there is one."""
    img = f'<img src="images/{thumb}" alt="" class="thumb">' if thumb else ""
    return f'<li><a href="images/{name}.html">{img}<span>{esc(image)}</span></a> ({n_rows} rows)</li>'


def no_original_section(where: str) -> str:
    """In place of the slider when the database kept no original of this picture."""
    return (f'<section><h2>Comparison ({esc(where)})</h2><p class="missing">No original stored for this '
            "picture (a database from before schema 2, or bench --no-files), so no comparison.</p></section>")


def comparison_section(data: dict[str, Any], where: str, window: tuple[int, int], cropped: bool,
                       scale: int) -> str:
    """The before/after slider of one source picture; ``data`` (entries, groups) drives it from the page script."""
    sid, original = data["id"], data["original"]
    h, w = window
    return (f'<section class="comparison" id="{sid}"><h2>Before / after ({esc(where)}'
            + (f", centre {w}x{h} window" if cropped else "") + ")</h2>"
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
            + json_script(f"{sid}-data", data))


def rows_table(rows: Sequence[tuple[Row, bool, str]], varying: dict[str, set[str]]) -> str:
    """Every row of an image as (row, file stored, command that made it): numbers, file, command."""
    body = []
    for r, has, made in sorted(rows, key=lambda t: (t[0]["method"], t[0]["bpp"])):
        ssim = "-" if r["ssim"] is None else f"{r['ssim']:.4f}"
        body.append(f"<tr><td title=\"{esc(row_settings(r))}\">{esc(row_label(r, varying))}</td>"
                    f"<td>{r['bpp']:.4f}</td><td>{r['file_bytes']}</td>"
                    f"<td>{r['psnr']:.2f}</td><td>{ssim}</td>"
                    f"<td>{'stored' if has else '<span class=missing>no file stored</span>'}</td>"
                    f"<td><code>{esc(made)}</code></td></tr>")
    return ("<section><h2>All results for this image</h2><table class=\"rows\"><thead><tr><th>method / setting</th>"
            "<th>bpp</th><th>bytes</th><th>PSNR</th><th>SSIM</th><th>file</th><th>made by</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")
