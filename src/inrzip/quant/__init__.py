"""Quantizers behind one interface and registry (``QUANTIZERS``): ``minmax``, ``explicit``, ``distributional``
(uniform.py: one shared uniform kernel), ``kmeans`` (kmeans.py, codebook.py), and quantization-aware
training (qat.py). Importing this package registers all four."""

from .base import QUANTIZERS, QTensor, Quantizer, check_bits, get_quantizer, ste
from .kmeans import KMeans
from .qat import FixedGrid, LearnedGrids, QATState
from .uniform import Distributional, Explicit, MinMax

__all__ = ["QUANTIZERS", "QTensor", "Quantizer", "check_bits", "get_quantizer", "ste", "MinMax", "Explicit",
           "Distributional", "KMeans", "QATState", "FixedGrid", "LearnedGrids"]
