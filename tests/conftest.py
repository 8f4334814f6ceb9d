"""Shared fixtures: small real images in tests/data and the shared data folder beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("shared data folder not present beside the repo")
    return SHARED
