"""Tensors <-> ``.inr`` bytes: range coding of integer codes (``entropy``), the container (``container``),
the network's header fields (``header``) and the path between a parameterization and a file (``pipeline``)."""

from .container import MAGIC, VERSION
from .pipeline import SizeReport, pack, peek, unpack

__all__ = ["MAGIC", "VERSION", "SizeReport", "pack", "peek", "unpack"]
