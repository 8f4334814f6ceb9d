"""Strict JSON (RFC 8259) for every report inrzip writes: a metric can be undefined (the SSIM of an image under
11 pixels a side is NaN), and Python's ``json`` would write ``NaN``, which JavaScript's ``JSON.parse`` and strict
parsers refuse (an HTML report's charts would not draw). Non-finite numbers become ``null``, NumPy scalars
Python's."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["plain", "json_text"]


def plain(v: Any) -> Any:
    """``v`` with NumPy scalars as Python numbers and non-finite floats as None, containers walked."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def json_text(obj: Any, indent: int | None = 2, separators: tuple[str, str] | None = None) -> str:
    """``obj`` as strict JSON; a value JSON cannot hold is written as text."""
    return json.dumps(plain(obj), indent=indent, separators=separators, allow_nan=False, default=str)
