"""Pareto frontiers of (rate, quality) points, per image and averaged over an image set.

Averaging over a set — the choice, and why. The default, ``average_per_config``, treats one
configuration (architecture x parameterization x budget x bit depth, or codec x quality) as one
operating point: its mean bpp and mean PSNR over every image of the set, then the frontier of those
means. This is how COIN, D'OH, CompressAI's codec baselines and the published Kodak curves report,
so our curves are comparable with theirs, and each point is something a user can actually pick.
``average_on_grid`` instead interpolates each image's own frontier at common bpp values and averages
PSNR there; it lets every image choose its best configuration, an optimistic upper bound reported
only beside the default (it also mixes different configs in one point).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

__all__ = ["frontier", "frontier_rows", "per_image_frontiers", "average_per_config", "average_on_grid"]

Row = dict[str, Any]


def frontier(rates: Sequence[float], qualities: Sequence[float]) -> list[int]:
    """Indices of the Pareto-optimal points (no other point has lower-or-equal rate and higher quality),
    sorted by rising rate; quality rises strictly along the result."""
    order = sorted(range(len(rates)), key=lambda i: (rates[i], -qualities[i]))
    best, keep = -np.inf, []
    for i in order:
        if qualities[i] > best:
            keep.append(i)
            best = qualities[i]
    return keep


def frontier_rows(rows: Sequence[Row], rate: str = "bpp", quality: str = "psnr") -> list[Row]:
    """The rows on the frontier of ``(row[rate], row[quality])``, by rising rate."""
    idx = frontier([r[rate] for r in rows], [r[quality] for r in rows])
    return [rows[i] for i in idx]


def _group(rows: Iterable[Row], *keys: str) -> dict[tuple, list[Row]]:
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in keys)].append(r)
    return dict(groups)


def per_image_frontiers(rows: Iterable[Row], rate: str = "bpp", quality: str = "psnr") -> dict[tuple[str, str], list[Row]]:
    """``(method, image) -> frontier rows`` across all configurations of that method on that image."""
    return {k: frontier_rows(g, rate, quality) for k, g in _group(rows, "method", "image").items()}


def average_per_config(rows: Iterable[Row], metrics: Sequence[str] = ("bpp", "psnr", "ssim")) -> list[Row]:
    """Mean of ``metrics`` per ``(method, config, bits)`` over the images of that method.

    A configuration is kept only if it has a row for every image its method was run on, so a
    half-finished sweep never mixes different image subsets into one mean."""
    rows = list(rows)
    images = {m: {r["image"] for r in g} for (m,), g in _group(rows, "method").items()}
    out = []
    for (method, config, bits), g in _group(rows, "method", "config", "bits").items():
        if {r["image"] for r in g} != images[method] or len(g) != len(images[method]):
            continue
        point = {"method": method, "config": config, "bits": bits, "n_images": len(g)}
        point.update({m: float(np.mean([r[m] for r in g])) for m in metrics if all(r.get(m) is not None for r in g)})
        out.append(point)
    return out


def average_on_grid(rows: Iterable[Row], grid: Sequence[float], rate: str = "bpp",
                    quality: str = "psnr") -> dict[str, list[tuple[float, float]]]:
    """``method -> [(rate, mean quality)]`` at the grid rates every image's frontier covers.

    Each image's frontier is interpolated with PCHIP in log-rate (the Bjontegaard convention)."""
    grid = np.asarray(sorted(grid), dtype=np.float64)
    by_method: dict[str, list[np.ndarray]] = defaultdict(list)
    for (method, _image), front in per_image_frontiers(rows, rate, quality).items():
        x = np.log([r[rate] for r in front])
        y = np.asarray([r[quality] for r in front], dtype=np.float64)
        vals = np.full(grid.shape, np.nan)
        inside = (np.log(grid) >= x[0]) & (np.log(grid) <= x[-1])
        if len(front) >= 2:
            vals[inside] = PchipInterpolator(x, y)(np.log(grid[inside]))
        elif len(front) == 1:
            vals[np.isclose(grid, front[0][rate])] = y[0]
        by_method[method].append(vals)
    out = {}
    for method, per_image in by_method.items():
        stack = np.vstack(per_image)
        ok = ~np.isnan(stack).any(axis=0)
        out[method] = [(float(g), float(v)) for g, v in zip(grid[ok], stack[:, ok].mean(axis=0))]
    return out
