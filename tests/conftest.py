"""Shared fixtures: small real images in tests/data and the shared data folder beside the repo.

A test that needs ``../shared/data`` takes the ``shared_data`` fixture. Where the folder is missing it is
skipped on a developer's machine, but *fails* under CI (``CI=true``), so CI can never pass by skipping.
"""

from __future__ import annotations

import os
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


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    return require_shared()
