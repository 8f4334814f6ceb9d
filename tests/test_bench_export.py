"""``inrzip export --format compressai``: the averaged frontier of every method as CompressAI results JSON."""

from __future__ import annotations

import json

import pytest

from inrzip.bench.db import ResultsDB
from inrzip.bench.pareto import frontier_rows
from inrzip.bench.plot import method_curves
from inrzip.cli import main


def _compressai_parse(doc: dict, metric: str) -> tuple[str, list[float], list[float]]:
    """What CompressAI's ``utils/plot`` reads from a results file: name, results.bpp, results[metric]."""
    assert "results" in doc and "bpp" in doc["results"] and metric in doc["results"]
    return doc["name"], doc["results"]["bpp"], doc["results"][metric]


def test_export_compressai_json_matches_the_databases_curves(tiny_bench, tmp_path, capsys):
    db = tiny_bench["db"]
    with ResultsDB(db) as rdb:
        curves = method_curves(rdb.rows())

    assert main(["export", str(db), "--format", "compressai", "-o", str(tmp_path / "r.json")]) == 0
    docs = json.loads((tmp_path / "r.json").read_text())
    assert [d["name"] for d in docs] == ["doh", "jpeg", "mlp", "webp"]
    for doc in docs:
        for metric in ("psnr", "psnr-rgb"):
            name, bpp, psnr = _compressai_parse(doc, metric)
            front = frontier_rows(curves[name], "bpp", "psnr")
            assert bpp == pytest.approx([p["bpp"] for p in front]) and psnr == pytest.approx([p["psnr"] for p in front])
            assert bpp == sorted(bpp) and len(doc["results"]["ssim"]) == len(bpp)
        assert "mean over 2 images" in doc["description"]

    assert main(["export", str(db), "-o", str(tmp_path / "each"), "--points", "all"]) == 0
    each = {p.name: json.loads(p.read_text()) for p in (tmp_path / "each").glob("*.json")}
    assert set(each) == {"doh.json", "jpeg.json", "mlp.json", "webp.json"}
    assert len(each["jpeg.json"]["results"]["bpp"]) == 3  # every quality, frontier or not

    assert main(["export", str(db), "-o", str(tmp_path / "k23.json"), "--methods", "webp", "--image", "kodim23"]) == 0
    one = json.loads((tmp_path / "k23.json").read_text())
    assert one["name"] == "webp" and "image kodim23" in one["description"]  # one method: one object, not a list

    capsys.readouterr()
    assert main(["export", str(db), "-o", str(tmp_path / "x.json"), "--methods", "bpg"]) == 2
    assert "inrzip: error: no results for methods ['bpg']" in capsys.readouterr().err
