"""Shared fixtures: small real images in tests/data and the shared data folder beside the repo.

A test that needs ``../shared/data`` takes the ``shared_data`` fixture. Where the folder is missing it is
skipped on a developer's machine, but *fails* under CI (``CI=true``), so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(sub: str = "") -> Path:
    """``../shared/data/<sub>``; a skip outside CI, a failure in CI, when it is missing."""
    path = SHARED / sub
    if not path.exists():
        message = f"{path} is missing; clone the repo beside shared/ (its README, 'Data')"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


# The tiny sweep the report, export and Ray tests share: two 64x64 Kodak crops x two fit settings (mlp, doh)
# written at two bit depths, plus JPEG and WebP at three qualities on the same crops.
TINY_SWEEP = """
[sweep]
images = ["kodim05.png", "kodim23.png"]
crop = [200, 300, 64, 64]
[fit]
arch = "10x2"
bits = [6, 8]
epochs = 40
batch_size = 1024
[[method]]
name = "mlp"
parameterization = "mlp"
lr = 2e-4  # a calm rate: at 1e-3 this 10x2 net amplifies float noise (alignment-dependent GEMM kernels) by dB
[[method]]
name = "doh"
parameterization = "doh"
latent_ratio = 0.5
[codecs]
jpeg = [20, 50, 80]
webp = [20, 50, 80]
"""
TINY_TASKS, TINY_ROWS = 4 + 12, 4 * 2 + 12


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory) -> dict[str, Path]:
    """The tiny sweep run once with the local executor (inline, 1 thread) through the CLI:
    ``{"kodak", "sweep", "db"}``. Treat the database as read-only (copy it to change it)."""
    from inrzip.cli import main

    kodak = require_shared("kodak") / "kodak"
    folder = tmp_path_factory.mktemp("tiny_bench")
    (folder / "sweep.toml").write_text(TINY_SWEEP)
    db = folder / "local.sqlite"
    assert main(["bench", str(kodak), "--config", str(folder / "sweep.toml"), "--db", str(db), "--workers", "0",
                 "--threads", "1", "--quiet"]) == 0
    return {"kodak": kodak, "sweep": folder / "sweep.toml", "db": db}


def require_tool(ok: bool, message: str) -> None:
    """A test's optional tool (Ray, a browser): a skip on a developer's machine, a failure under CI."""
    if not ok:
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def default_ctrl_c() -> None:
    """``preexec_fn`` of a child a test interrupts: Ctrl-C back to its default. A shell starts background jobs
    (``make test &``, nohup) with SIGINT ignored, children inherit that, and Python then installs no
    KeyboardInterrupt handler, so the child would shrug off the test's SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    return require_shared()


def assert_header_refused(data: bytes, fields: dict, match: str) -> None:
    """``data`` with ``fields`` written over its header is a one-line format error, to decode and to ``info``."""
    import inrzip
    from inrzip.bitstream.container import read_inr, write_inr
    from inrzip.errors import FormatError

    header, records = read_inr(data)
    bad = write_inr({**header, **fields}, records)
    with pytest.raises(FormatError, match=match):
        inrzip.decode(bad, progress=False)
    with pytest.raises(FormatError, match=match):
        inrzip.info(bad)
