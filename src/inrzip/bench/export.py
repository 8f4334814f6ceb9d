"""Results in other tools' formats (``inrzip export``), so people plot them with what they already use.

``compressai``: CompressAI's results JSON, one object per method,
``{"name": ..., "description": ..., "results": {"bpp": [...], "psnr": [...], "psnr-rgb": [...], "ssim": [...]}}``
(``python -m compressai.utils.plot -f doh.json jpeg.json`` reads one such object per file; its older
versions plot ``psnr``, newer ones ``psnr-rgb``: both are written, equal, RGB PSNR over all pixels).
The points are what ``inrzip plot`` draws: per configuration, the mean bpp and mean PSNR/SSIM over the
images the method ran on (``pareto.average_per_config``), by default only the Pareto frontier of those
means (``points="all"`` keeps every configuration), sorted by rate. ``image`` exports one image's points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from ..jsontext import json_text
from ..registry import Registry
from .pareto import frontier_rows
from .plot import method_curves, read_rows, safe_name

__all__ = ["EXPORTERS", "compressai_curves", "export"]

Row = dict[str, Any]
Exporter = Callable[[list[Row], str, dict[str, Any]], list[dict[str, Any]]]
EXPORTERS: Registry[Exporter] = Registry("export format", InputError)
POINTS = ("frontier", "all")


@EXPORTERS.register("compressai")
def compressai_curves(rows: list[Row], points: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """One CompressAI results object per method, points sorted by rate."""
    out = []
    for method, pts in sorted(method_curves(rows).items()):
        chosen = frontier_rows(pts, "bpp", "psnr") if points == "frontier" else sorted(pts, key=lambda p: p["bpp"])
        n_images = len({r["image"] for r in rows if r["method"] == method})
        results: dict[str, list[float]] = {"bpp": [p["bpp"] for p in chosen], "psnr": [p["psnr"] for p in chosen]}
        results["psnr-rgb"] = list(results["psnr"])
        if all("ssim" in p for p in chosen):
            results["ssim"] = [p["ssim"] for p in chosen]
        what = f"image {info['image']}" if info.get("image") else f"mean over {n_images} images"
        out.append({"name": method, "description": (
            f"inrzip results database {info['db']}: {what}, one point per configuration "
            f"({'Pareto frontier' if points == 'frontier' else 'every configuration'}); bpp from the real "
            "file bytes, PSNR (RGB, peak 255) and SSIM of the decoded file"), "results": results})
    return out


def export(db_path: str | Path, out: str | Path, fmt: str = "compressai", image: str | None = None,
           methods: Sequence[str] | None = None, points: str = "frontier") -> list[Path]:
    """Write the results of ``db_path`` in ``fmt``. ``out`` ending in ``.json``: one file (one object if one
    method, else a list of objects); otherwise a folder with ``<method>.json`` per method."""
    exporter = EXPORTERS.get(fmt)
    if points not in POINTS:
        raise InputError(f"--points {points!r}: choose from {', '.join(POINTS)}")
    rows = read_rows(db_path, image)
    if methods:
        unknown = set(methods) - {r["method"] for r in rows}
        if unknown:
            raise InputError(f"no results for methods {sorted(unknown)}; the database has "
                             f"{', '.join(sorted({r['method'] for r in rows}))}")
        rows = [r for r in rows if r["method"] in methods]
    curves = exporter(rows, points, {"db": Path(db_path).name, "image": image})
    out = Path(out)
    if out.suffix.lower() == ".json":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json_text(curves[0] if len(curves) == 1 else curves) + "\n")
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for curve in curves:
        path = out / f"{safe_name(curve['name'], 'method')}.json"
        path.write_text(json_text(curve) + "\n")
        paths.append(path)
    return paths

