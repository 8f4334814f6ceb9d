"""Hostile .inr files that pass the checksum: a short deterministic fuzz run (``benchmarks/fuzz.py``, the
100,000-case run is in docs/benchmarks.md) and every file a fuzz run ever broke inrzip with, kept forever."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGRESSIONS = sorted((ROOT / "tests" / "data" / "fuzz" / "regressions").glob("*.inr"))
SHORT_RUN = 3000  # cases: about a minute on one core of the CI machine (2 cores, other tests beside)


def _fuzz():
    """benchmarks/fuzz.py as a module (it is a script, not part of the package)."""
    if "inrzip_fuzz" not in sys.modules:
        spec = importlib.util.spec_from_file_location("inrzip_fuzz", ROOT / "benchmarks" / "fuzz.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["inrzip_fuzz"] = module
        spec.loader.exec_module(module)
    return sys.modules["inrzip_fuzz"]


def test_seeds_cover_every_kind_parameterization_and_quantizer():
    from inrzip.bitstream.container import read_header
    from inrzip.quant import QUANTIZERS
    from inrzip.signals import SIGNALS

    headers = [read_header(d) for d in _fuzz().load_seeds().values()]
    for kind in SIGNALS:
        of_kind = [h for h in headers if h["kind"] == kind]
        assert {h["param"] for h in of_kind} == {"mlp", "doh"}, kind
        assert {h["quant"] for h in of_kind} == set(QUANTIZERS), kind
    assert {h["act"] for h in headers} == {"sine", "relu", "gauss"}
    assert any(h.get("scene") == "llff" for h in headers) and any(h.get("fine", 0) > 0 for h in headers)


def test_mutations_are_deterministic_and_keep_the_checksum_valid():
    from inrzip.bitstream.container import read_inr
    from inrzip.errors import FormatError

    fz = _fuzz()
    seeds = fz.load_seeds()
    cases = [fz.make_case(i, 0, seeds) for i in range(1, 200)]
    assert cases == [fz.make_case(i, 0, seeds) for i in range(1, 200)]
    assert len({data for _, data in cases}) >= 0.95 * len(cases)  # nearly every case is a different file
    checksum_failures = 0
    for _, data in cases:
        try:
            read_inr(data)
        except FormatError as exc:
            checksum_failures += "checksum" in str(exc)
    assert checksum_failures <= 10  # 2% of cases keep a wrong checksum on purpose


def test_short_fuzz_run_finds_no_crash_hang_or_excess_memory(tmp_path):
    """Every mutated file decodes or is refused with one line; the run reaches the parser, the limits, the
    entropy decoder, the D'OH generator and the network outputs of every kind."""
    fz = _fuzz()
    s = fz.run(SHORT_RUN, seed=0, workers=1, timeout=20.0, crashes=tmp_path)
    assert s.cases == SHORT_RUN
    assert set(s.outcomes) <= {"ok", "refused"}, s.findings[:3]
    assert s.outcomes["ok"] >= SHORT_RUN // 20  # mutated files that still decode and are written
    for kind in ("image", "occupancy", "radiance"):
        assert s.by_kind[kind]["ok"] > 0 and s.by_kind[kind]["refused"] > 0, kind
    reasons = " | ".join(s.refusals)
    for stage in ("checksum", "exceeds the limit", "header", "entropy-coded payload", "quantizer values",
                  "non-finite", "over the limit"):
        assert stage in reasons, stage
    assert 0 < s.max_peak_fraction <= 1.0  # peak memory growth per case was measured, within Limits.decode_bytes


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_fuzz_regression_files_decode_or_fail_with_one_line(path, tmp_path):
    fz = _fuzz()
    data = path.read_bytes()
    for i in range(4):  # a few command lines: file or standard output, options
        argv = fz.decode_argv(random.Random(i), path, tmp_path, data)
        outcome, detail = fz.run_cli(argv)
        assert outcome in ("ok", "refused"), detail
    outcome, detail = fz.run_cli(["info", str(path)])
    assert outcome in ("ok", "refused"), detail


def test_the_regression_folder_is_not_empty():
    assert REGRESSIONS, "tests/data/fuzz/regressions holds the files fuzz runs found"


def test_an_outside_fuzzer_keeping_the_crc_valid_finds_only_decodes_and_one_line_errors(tmp_path):
    """libFuzzer's own mutator (atheris, coverage-guided) on the same seeds and target: any outcome but a
    decoded file or one ``inrzip: error:`` line fails the run (docs/benchmarks.md has a longer one)."""
    pytest.importorskip("atheris")
    out = tmp_path / "atheris.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_atheris.py"), "--runs", "500", "--seed", "3",
                          "--out", str(out), "--artifacts", str(tmp_path / "findings")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 500 runs" in run.stderr
    counts = json.loads(out.read_text())["outcomes"]
    assert set(counts) <= {"ok", "refused"} and sum(counts.values()) >= 500
