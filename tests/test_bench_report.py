"""``inrzip report``: a static site whose pictures are decoded from the stored files, that a headless
Chromium renders from disk with no network and no console errors."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_ROWS, require_tool
from PIL import Image

from inrzip.bench.report import decode_file, nearest_rate, report
from inrzip.cli import main

HAS_PLOTLY = importlib.util.find_spec("plotly") is not None
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    """Debian's chromium (installed by `make test` / .ci/run), or the browser INRZIP_CHROMIUM names."""
    return os.environ.get("INRZIP_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="module")
def site(tiny_bench, tmp_path_factory) -> Path:
    """``inrzip report local.sqlite -o site/`` on the tiny sweep."""
    out = tmp_path_factory.mktemp("report") / "site"
    assert main(["report", str(tiny_bench["db"]), "-o", str(out)]) == 0
    return out


def _page_data(page: Path, element_id: str) -> object:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page.read_text(), re.S)
    assert m, f"{page.name}: no {element_id} data"
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_report_pictures_are_the_decoded_stored_files(site, tiny_bench):
    index = site / "index.html"
    assert index.is_file() and (site / "rd.png").stat().st_size > 10_000  # the PNG fallback
    text = index.read_text()
    assert 'id="rd-psnr"' in text and 'class="bd"' in text and "images/kodim23.html" in text
    assert (site / "assets" / "plotly.min.js").is_file() == HAS_PLOTLY
    for page in [index, *site.glob("images/*.html")]:
        assert not re.search(r'(src|href)="(https?:)?//', page.read_text()), f"{page.name} loads from the network"

    con = sqlite3.connect(tiny_bench["db"])
    files = {(k[:16], b): (fmt, bytes(d)) for k, b, fmt, d in con.execute("SELECT task_key, bits, format, data FROM files")}
    psnr = {(k[:16], b): p for k, b, p in con.execute("SELECT task_key, bits, psnr FROM results")}
    con.close()
    seen_methods, pictures = set(), 0
    for image in ("kodim05", "kodim23"):
        page = site / "images" / f"{image}.html"
        data = _page_data(page, "cmp0-data")
        original = np.asarray(Image.open(site / "images" / data["original"]))
        assert original.shape == (64, 64, 3)
        assert data["groups"] and all(len(g["others"]) == 2 for g in data["groups"])  # jpeg and webp nearest
        for entry in data["entries"].values():
            key = tuple(entry["id"].rsplit("-", 1))
            key = (key[0], int(key[1]))
            fmt, blob = files[key]
            shown = np.asarray(Image.open(site / "images" / entry["img"]))
            assert np.array_equal(shown, decode_file(fmt, blob))  # the picture is the decoded file, pixel for pixel
            assert entry["psnr_shown"] == pytest.approx(psnr[key], abs=1e-9) == entry["psnr"]
            assert (site / "images" / entry["file"]).read_bytes() == blob and entry["bytes"] == len(blob)
            assert entry["made"]["ran"].startswith("inrzip bench ") and "--config" in entry["made"]["ran"]
            if fmt == "inr":
                assert entry["made"]["single"].startswith("inrzip compress ") and "--bits" in entry["made"]["single"]
            seen_methods.add(entry["method"])
            pictures += 1
    assert seen_methods == {"mlp", "doh", "jpeg", "webp"} and pictures >= 8


def test_nearest_rate_is_in_log_rate():
    rows = [{"bpp": 0.1}, {"bpp": 0.4}, {"bpp": 1.6}]
    assert nearest_rate(rows, 0.2)["bpp"] == 0.1  # |ln 2| = |ln 2|: the tie goes to the lower rate
    assert nearest_rate(rows, 0.25)["bpp"] == 0.4
    assert nearest_rate([], 1.0) is None


def test_rows_without_files_or_originals_are_reported_as_such(tiny_bench, tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    shutil.copy(tiny_bench["db"], db)
    with sqlite3.connect(db) as con:
        gone = con.execute("SELECT task_key, bits FROM results WHERE method = 'doh' AND image = 'kodim23'").fetchall()
        con.executemany("DELETE FROM files WHERE task_key = ? AND bits = ?", gone)
    monkeypatch.setitem(sys.modules, "plotly.offline", None)  # and no plotly: the static PNGs stand in
    summary = report(db, tmp_path / "site")
    assert not summary.interactive and summary.rows_without_file == len(gone) == 2
    index = (tmp_path / "site" / "index.html").read_text()
    assert f"{TINY_ROWS - 2} of {TINY_ROWS} rows have their encoded file stored" in index
    assert "plotly.min.js" not in index and 'class="fallback" src="rd.png"' in index
    page = tmp_path / "site" / "images" / "kodim23.html"
    entries = _page_data(page, "cmp0-data")["entries"]
    missing = [e for e in entries.values() if e["method"] == "doh"]
    assert missing and all(e["img"] is None and e["note"] == "no file stored" for e in missing)
    assert page.read_text().count("no file stored") >= 2  # the rows table says it too

    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM sources")
    report(db, tmp_path / "site2")
    assert "No original stored" in (tmp_path / "site2" / "images" / "kodim05.html").read_text()


def _not_blank(png: bytes) -> bool:
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.float64)
    return a.std() > 10 and len(np.unique(a.reshape(-1, 3), axis=0)) > 100


def test_report_renders_in_headless_chromium(site):
    require_tool(HAS_PLOTLY, "plotly is not installed (pip install -e '.[all]' installs it)")
    require_tool(importlib.util.find_spec("playwright") is not None,
                 "playwright is not installed (pip install -e '.[all]' installs it)")
    browser_path = _chromium()
    require_tool(browser_path is not None, "no chromium: apt-get install chromium (make test does), "
                                           "or set INRZIP_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            context.route(re.compile(r"^(?!file:)"), lambda route: (problems.append("network: " + route.request.url),
                                                                    route.abort()))
            page = context.new_page()
            page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))

            page.goto((site / "index.html").as_uri())
            page.wait_for_selector("#rd-psnr.js-plotly-plot .scatterlayer .trace", timeout=30_000)
            assert page.locator(".js-plotly-plot").count() == 2  # PSNR and SSIM charts drawn by plotly.js
            assert page.locator("#rd-psnr .scatterlayer .trace").count() == 8  # 4 methods x (points, frontier)
            assert page.locator("table.bd tbody tr").count() == 3  # doh, mlp, webp against jpeg
            assert _not_blank(page.screenshot(full_page=True))

            page.goto((site / "images" / "kodim23.html").as_uri())
            page.wait_for_selector("#cmp0-view img.left", timeout=30_000)
            page.wait_for_function("() => [...document.querySelectorAll('#cmp0-view img')]"
                                   ".every(i => i.complete && i.naturalWidth === 64)")
            assert page.locator("input.compare-slider").count() == 1
            assert page.locator("#cmp0-right").input_value() != "original"  # inrzip's picture on the right
            options = page.locator("#cmp0-right option").all_inner_texts()
            assert any(o.startswith("jpeg") for o in options) and any(o.startswith("webp") for o in options)
            page.locator("#cmp0-slider").fill("20")
            assert page.locator("#cmp0-view").evaluate("e => e.style.getPropertyValue('--pos')") == "20%"
            page.locator("#cmp0-right").select_option(index=2)  # a codec at the nearest rate
            assert "quality" in page.locator("#cmp0-right-tag").inner_text()
            page.wait_for_selector("#rd-psnr.js-plotly-plot", timeout=30_000)
            assert _not_blank(page.locator("#cmp0-view").screenshot())
            assert _not_blank(page.screenshot(full_page=True))
        finally:
            browser.close()
    assert problems == []
