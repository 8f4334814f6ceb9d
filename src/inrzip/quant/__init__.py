"""Quantizers beyond ``minmax`` (seed 000): ``explicit``, ``distributional``, ``kmeans``, and QAT state.

Importing this package registers them in ``inrzip.quantizers.QUANTIZERS``.
"""

from __future__ import annotations

from .base import TableQuantizer, ste
from .kmeans import KMeans
from .qat import QATState
from .uniform import Distributional, Explicit

__all__ = ["TableQuantizer", "ste", "Explicit", "Distributional", "KMeans", "QATState"]
