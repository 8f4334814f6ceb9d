"""Rate-distortion plots and BD tables from a results database.

Each method's curve is ``pareto.average_per_config`` (mean bpp / PSNR / SSIM of one configuration over
the images) followed by its Pareto frontier: every averaged point is drawn faintly, the frontier as a
line. BD-rate / BD-PSNR compare two methods' frontiers on the images both were run on. Published
Kodak curves (``kodak_published_rd.json``) can be overlaid and used as anchors; they are labelled
"(published)" everywhere, since they are other people's numbers, not ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError
from .bdrate import bd_psnr, bd_rate
from .db import ResultsDB
from .pareto import average_per_config, frontier_rows

__all__ = ["safe_name", "read_rows", "load_published", "method_curves", "plot_rd", "bd_table", "format_bd_table", "psnr_at_bpp",
           "format_psnr_at_bpp"]

Row = dict[str, Any]
PUBLISHED = " (published)"


def safe_name(name: str, fallback: str) -> str:
    """``name`` usable as a file or folder name on any system (letters, digits, - _ . kept; others as _)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or fallback


def read_rows(db_path: str | Path, image: str | None = None) -> list[Row]:
    """Every result row of an existing database (one image's if given); a user error if there are none."""
    if not Path(db_path).is_file():
        raise InputError(f"{db_path}: no such results database; run `inrzip bench` or `inrzip bench-codecs` first")
    with ResultsDB(db_path) as db:
        rows = db.rows(image=image)
    if not rows:
        raise InputError(f"{db_path}: no results{f' for image {image}' if image else ''} yet")
    return rows


def load_published(path: str | Path, names: Sequence[str] | None = None) -> dict[str, dict[str, list[float]]]:
    """``name (published) -> {"bpp": [...], "psnr": [...]}`` from the shared baselines JSON."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read published curves ({exc})") from None
    unknown = set(names or []) - set(doc)
    if unknown:
        raise InputError(f"{path}: no published curves {sorted(unknown)}; known: {', '.join(doc)}")
    return {n + PUBLISHED: {"bpp": doc[n]["bpp"], "psnr": doc[n]["psnr"]} for n in (names or doc)}


def method_curves(rows: list[Row], images: set[str] | None = None) -> dict[str, list[Row]]:
    """``method -> averaged points`` (one per configuration), on ``images`` only if given."""
    if images is not None:
        rows = [r for r in rows if r["image"] in images]
    out: dict[str, list[Row]] = {}
    for p in average_per_config(rows):
        out.setdefault(p["method"], []).append(p)
    return out


def plot_rd(db_path: str | Path, out: str | Path, image: str | None = None, methods: Sequence[str] | None = None,
            published: str | Path | None = None, published_names: Sequence[str] | None = None) -> Path:
    """PSNR-vs-bpp and SSIM-vs-bpp panels per method, frontier marked; optional published overlay."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows(db_path, image)
    curves = method_curves(rows)
    n_img = {m: len({r["image"] for r in rows if r["method"] == m}) for m in curves}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for i, (m, pts) in enumerate(sorted(curves.items())):
        if methods and m not in methods:
            continue
        color = f"C{i % 10}"
        for ax, q in zip(axes, ("psnr", "ssim")):
            pts_q = [p for p in pts if q in p]
            if not pts_q:
                continue
            ax.scatter([p["bpp"] for p in pts_q], [p[q] for p in pts_q], s=8, alpha=0.25, color=color)
            front = frontier_rows(pts_q, "bpp", q)
            ax.plot([p["bpp"] for p in front], [p[q] for p in front], "o-", ms=3, color=color,
                    label=f"{m} ({n_img[m]} img)")
    if published:
        for j, (name, c) in enumerate(load_published(published, published_names).items()):
            axes[0].plot(c["bpp"], c["psnr"], "--", lw=1, color=plt.cm.Dark2(j % 8), alpha=0.8, label=name)
    where = f"image {image}" if image else "mean over images"
    for ax, q in zip(axes, ("PSNR (dB)", "SSIM")):
        ax.set_xlabel("bits per pixel (real file bytes)")
        ax.set_ylabel(q)
        ax.set_title(f"{q.split()[0]} vs rate, {where}; lines = Pareto frontier")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_xlim(left=0)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def _common_frontiers(rows: list[Row], a: str, b: str, quality: str) -> tuple[list[Row], list[Row], int]:
    images = ({r["image"] for r in rows if r["method"] == a} & {r["image"] for r in rows if r["method"] == b})
    curves = method_curves(rows, images)
    return (frontier_rows(curves.get(a, []), "bpp", quality), frontier_rows(curves.get(b, []), "bpp", quality),
            len(images))


def _xy(curve: Sequence[Row] | dict[str, list[float]]) -> tuple[list[float], list[float]]:
    """(bpp, psnr) lists of a published curve (a dict of lists) or of our frontier rows."""
    if isinstance(curve, dict):
        return curve["bpp"], curve["psnr"]
    return [p["bpp"] for p in curve], [p["psnr"] for p in curve]


def _bd(anchor: Sequence[Row] | dict, test: Sequence[Row] | dict) -> tuple[float | None, float | None]:
    (ra, qa), (rt, qt) = _xy(anchor), _xy(test)
    try:
        return bd_rate(ra, qa, rt, qt), bd_psnr(ra, qa, rt, qt)
    except InputError:
        return None, None  # too few points or no overlap: shown as "-"


def bd_table(db_path: str | Path, anchor: str, image: str | None = None, published: str | Path | None = None,
             published_names: Sequence[str] | None = None) -> list[Row]:
    """BD-rate (%) and BD-PSNR (dB) of every method vs ``anchor`` (a method or a "X (published)" curve)."""
    rows = read_rows(db_path, image)
    pub = load_published(published, published_names) if published else {}
    ours = sorted({r["method"] for r in rows})
    if anchor not in ours and anchor not in pub:
        raise InputError(f"unknown anchor {anchor!r}; choose from {', '.join(ours + list(pub))}")
    table = []
    for m in ours + list(pub):
        if m == anchor:
            continue
        if anchor in pub or m in pub:
            # published curves are Kodak means: compare with our mean over every image of the method
            a = pub.get(anchor) or frontier_rows(method_curves(rows).get(anchor, []), "bpp", "psnr")
            t = pub.get(m) or frontier_rows(method_curves(rows).get(m, []), "bpp", "psnr")
            n = len({r["image"] for r in rows if r["method"] in (anchor, m)})
        else:
            a, t, n = _common_frontiers(rows, anchor, m, "psnr")
        rate, psnr = _bd(a, t)
        table.append({"method": m, "anchor": anchor, "bd_rate": rate, "bd_psnr": psnr, "images": n})
    return table


def format_bd_table(table: list[Row]) -> str:
    """Plain-text table; "-" where the curves do not overlap."""
    if not table:
        return "(no other methods)"
    anchor = table[0]["anchor"]
    lines = [f"anchor: {anchor}", f"{'method':<34}{'BD-rate %':>10}{'BD-PSNR dB':>12}{'images':>8}"]
    for r in sorted(table, key=lambda r: (r["bd_rate"] is None, r["bd_rate"] or 0.0)):
        rate = "-" if r["bd_rate"] is None else f"{r['bd_rate']:+.1f}"
        psnr = "-" if r["bd_psnr"] is None else f"{r['bd_psnr']:+.2f}"
        lines.append(f"{r['method']:<34}{rate:>10}{psnr:>12}{r['images']:>8}")
    return "\n".join(lines)


def psnr_at_bpp(db_path: str | Path, rates: Sequence[float], image: str | None = None) -> dict[str, list[float | None]]:
    """Each method's mean-curve PSNR at the given bpp (PCHIP in log-rate on its frontier; None outside it)."""
    import numpy as np
    from scipy.interpolate import PchipInterpolator

    out = {}
    for m, pts in sorted(method_curves(read_rows(db_path, image)).items()):
        front = frontier_rows(pts, "bpp", "psnr")
        x, y = np.log([p["bpp"] for p in front]), [p["psnr"] for p in front]
        f = PchipInterpolator(x, y) if len(front) >= 2 else None
        out[m] = [float(f(np.log(r))) if f is not None and x[0] <= np.log(r) <= x[-1] else None for r in rates]
    return out


def format_psnr_at_bpp(table: dict[str, list[float | None]], rates: Sequence[float]) -> str:
    lines = [f"{'method':<14}" + "".join(f"{f'@{r:g}':>9}" for r in rates)]
    for m, vals in table.items():
        lines.append(f"{m:<14}" + "".join(f"{'-' if v is None else f'{v:.2f}':>9}" for v in vals))
    return "\n".join(lines)
