"""Pareto frontiers and set averages."""

from __future__ import annotations

import pytest

from inrzip.bench.pareto import average_on_grid, average_per_config, frontier, frontier_rows, per_image_frontiers


def test_frontier_keeps_only_undominated_points_by_rising_rate():
    rates = [0.5, 0.2, 0.3, 0.8, 0.3, 1.0]
    quality = [30.0, 25.0, 24.0, 29.0, 27.0, 31.0]
    # 0.3/24 is dominated by 0.2/25, 0.8/29 by 0.5/30; of the two 0.3 points the better one stays
    assert frontier(rates, quality) == [1, 4, 0, 5]


def _row(image, config, bits, bpp, psnr, method="m"):
    return {"image": image, "method": method, "config": config, "bits": bits, "bpp": bpp, "psnr": psnr, "ssim": 0.9}


def test_average_per_config_uses_only_configs_present_on_every_image():
    rows = [_row("a", "c1", 8, 0.2, 30), _row("b", "c1", 8, 0.4, 26),
            _row("a", "c2", 8, 0.5, 33)]  # c2 missing on image b: left out, not averaged over one image
    pts = average_per_config(rows)
    assert len(pts) == 1
    assert pts[0]["bpp"] == pytest.approx(0.3) and pts[0]["psnr"] == pytest.approx(28.0)
    assert pts[0]["n_images"] == 2


def test_per_image_frontier_and_grid_average():
    rows = [_row("a", "c1", 4, 0.1, 20), _row("a", "c1", 8, 0.4, 30), _row("a", "c2", 8, 0.3, 18),
            _row("b", "c1", 4, 0.2, 22), _row("b", "c1", 8, 0.8, 32)]
    fronts = per_image_frontiers(rows)
    assert [r["bpp"] for r in fronts[("m", "a")]] == [0.1, 0.4]
    grid = average_on_grid(rows, [0.05, 0.2, 0.4, 1.0])
    # only 0.2 and 0.4 lie inside both images' frontiers; at the end points PCHIP is exact
    assert [g for g, _ in grid["m"]] == [0.2, 0.4]
    assert grid["m"][0][1] == pytest.approx((25.0 + 22.0) / 2)  # a at 0.2: ln-linear midpoint of 0.1..0.4


def test_frontier_rows_orders_by_rate():
    rows = [{"bpp": 1.0, "psnr": 35.0}, {"bpp": 0.5, "psnr": 31.0}, {"bpp": 0.6, "psnr": 30.0}]
    assert [r["bpp"] for r in frontier_rows(rows)] == [0.5, 1.0]
