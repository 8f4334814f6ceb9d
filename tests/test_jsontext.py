"""Reports as strict JSON: an undefined metric (NaN) is null wherever inrzip writes JSON for others to read."""

from __future__ import annotations

import json

import numpy as np

from inrzip.bench.report_html import json_script
from inrzip.jsontext import json_text


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_null_and_numpy_scalars_plain():
    doc = {"ssim": float("nan"), "psnr": np.float32(31.5), "bits": np.int64(8), "curve": [1.0, float("inf")],
           "pair": (np.float64(-np.inf), 2), "path": __import__("pathlib").Path("a/b")}
    assert _strict(json_text(doc)) == {"ssim": None, "psnr": 31.5, "bits": 8, "curve": [1.0, None],
                                       "pair": [None, 2], "path": "a/b"}


def test_the_html_reports_embedded_data_parses_with_a_strict_parser():
    """report.js reads it with JSON.parse, which refuses NaN. The report's rows drop undefined metrics before this
    today (a bench of 8x8 images gave no NaN in the page, before and after this change); the embedding no longer
    depends on that."""
    tag = json_script("data", {"rows": [{"ssim": float("nan"), "psnr": 20.0, "note": "</script>"}]})
    body = tag.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert "</script>" not in body
    assert _strict(body) == {"rows": [{"ssim": None, "psnr": 20.0, "note": "</script>"}]}
