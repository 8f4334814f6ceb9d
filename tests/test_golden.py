"""Golden files: every ``.inr`` file of every format version ever written decodes to the same bits, forever.

``tests/golden/v<N>/`` holds small real files of every kind, parameterization, quantizer and activation,
made by ``tests/golden/make_golden.py`` with the code of their day, and the SHA-256 of their decoded
network weights and decoded signal. A change that alters what an old file decodes to fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_hash import decoded_sha256, layers_sha256

from inrzip.bitstream import VERSION
from inrzip.errors import FormatError

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [(d.name, name, entry) for d in sorted(GOLDEN.glob("v*")) if (d / "manifest.json").is_file()
         for name, entry in sorted(json.loads((d / "manifest.json").read_text()).items())]


def test_golden_files_cover_every_kind_and_quantizer():
    from inrzip.quant import QUANTIZERS
    from inrzip.signals import SIGNALS

    headers = [__import__("inrzip").info((GOLDEN / v / e["file"]).read_bytes()) for v, _, e in CASES]
    assert {h["kind"] for h in headers} == set(SIGNALS)
    assert {h["quant"] for h in headers} == set(QUANTIZERS)
    assert {h["param"] for h in headers} == {"mlp", "doh"}
    assert any("res_init" in h for h in headers)  # residual coding against a shipped init
    assert {d.name for d in GOLDEN.glob("v*")} >= {f"v{v}" for v in range(1, VERSION + 1)}


@pytest.mark.parametrize("version,name,entry", CASES, ids=[f"{v}/{n}" for v, n, _ in CASES])
def test_golden_file_decodes_bit_identically(version, name, entry):
    data = (GOLDEN / version / entry["file"]).read_bytes()
    assert layers_sha256(data) == entry["layers_sha256"], f"{name}: decoded weights changed"
    assert decoded_sha256(data) == entry["decoded_sha256"], f"{name}: decoded signal changed"


@pytest.mark.parametrize("version,name,entry", CASES[:4], ids=[f"{v}/{n}" for v, n, _ in CASES[:4]])
def test_container_rewrites_golden_bytes_exactly(version, name, entry):
    """Parsing a golden file and writing it back gives the same bytes: the writer has not drifted."""
    from inrzip.bitstream.container import read_inr, write_inr

    data = (GOLDEN / version / entry["file"]).read_bytes()
    assert write_inr(*read_inr(data)) == data


def test_a_newer_version_is_refused_with_the_upgrade_message():
    data = bytearray((GOLDEN / CASES[0][0] / CASES[0][2]["file"]).read_bytes())
    data[4] = VERSION + 1
    with pytest.raises(FormatError, match=f"version {VERSION + 1}; this inrzip reads up to {VERSION} — upgrade"):
        __import__("inrzip").decode(bytes(data))
