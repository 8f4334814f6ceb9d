"""What the steps of ``api`` hand each other: a resolved request (``Prepared``), a fitted network (``Fitted``)
and a written file with its measurements (``Encoded``). Plain records, so tools built on the API can hold
and pass them without importing the steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bitstream.pipeline import SizeReport
from .config import CompressConfig
from .fit import FitResult
from .nets.networks import NetworkSpec
from .nets.parameterizations import Parameterization
from .signals import Signal

__all__ = ["Prepared", "Fitted", "Encoded"]


@dataclass
class Prepared:
    """A resolved request on one signal: the settings, the network and its initial parameters."""

    config: CompressConfig
    spec: NetworkSpec
    param: Parameterization


@dataclass
class Fitted:
    """A fitted network and everything needed to write it at any bit depth or quantizer."""

    signal: Signal
    spec: NetworkSpec
    param: Parameterization
    config: CompressConfig  # resolved
    result: FitResult
    float_metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Encoded:
    """A compressed file and everything measured while making it."""

    data: bytes
    report: dict[str, Any]
    sizes: SizeReport

    def save(self, path: str | Path) -> None:
        """Write atomically: a crash never leaves a half-written file under the final name."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.data)
        tmp.replace(path)
