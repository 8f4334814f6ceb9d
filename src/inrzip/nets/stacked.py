"""K networks of one architecture in one file (NeRF's coarse + fine pair), as one parameterization.

``Stacked`` wraps K parameterizations of one kind (``mlp`` or ``doh``) and one spec. Its ``layers()`` are
the K networks' layers stacked, ``(W (K, out, in), b (K, out))``, which ``networks.forward`` already
evaluates (one input for all, or one per network): so the shared trainer, QAT, the guard and the writer
work unchanged, and every tensor of every network is stored, quantized and counted in the file.

Format: the header field ``networks`` (K >= 2; absent = one network, as in every earlier file) and the
stored tensors of network 0, then network 1, ... in each one's own order. Network j is made with seed
``seed + j`` (D'OH: its B_j comes from that seed, the header keeps network 0's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import FormatError, InrzipError
from .networks import Layers, NetworkSpec, stack_layers
from .parameterizations import Parameterization, make_parameterization, materialize, parameterization_class

__all__ = ["Stacked", "MAX_NETWORKS", "network_count", "stored_shapes", "generator_work", "materialize_all"]

MAX_NETWORKS = 8


def _prefix(j: int) -> str:
    return f"n{j}."


def network_count(header: dict[str, Any]) -> int:
    """Networks a header describes: its ``networks`` field, 1 when absent (every file before the field)."""
    k = header.get("networks", 1)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_NETWORKS:
        raise FormatError(f"header field networks must be 1..{MAX_NETWORKS}; the file is corrupt")
    return k


def _sub_header(header: dict[str, Any], j: int) -> dict[str, Any]:
    """The header network ``j`` was made under: its seed is the file's seed + j."""
    return {**header, "seed": header["seed"] + j} if isinstance(header.get("seed"), int) else header


class Stacked(Parameterization):
    """K networks of one kind and spec, trained together, stored one after another."""

    def __init__(self, spec: NetworkSpec, name: str, count: int, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(spec)
        if not 2 <= count <= MAX_NETWORKS:
            raise InrzipError(f"a stack holds 2..{MAX_NETWORKS} networks, not {count}")
        self.nets = nn.ModuleList(make_parameterization(name, spec, seed=seed + j, **kwargs) for j in range(count))
        inner = self.nets[0]
        # the inner kind's class attributes, per instance: the writer and resolve_fit read them from here
        self.name, self.default_pe, self.final_lr_fraction = inner.name, inner.default_pe, inner.final_lr_fraction

    def stored(self) -> dict[str, torch.Tensor]:
        return {_prefix(j) + k: v for j, net in enumerate(self.nets) for k, v in net.stored().items()}

    def layers_from(self, stored: dict[str, torch.Tensor]) -> Layers:
        per = []
        for j, net in enumerate(self.nets):
            p = _prefix(j)
            per.append(net.layers_from({k[len(p):]: v for k, v in stored.items() if k.startswith(p)}))
        return stack_layers(per)

    def header(self) -> dict[str, Any]:
        return {**self.nets[0].header(), "networks": len(self.nets)}

    def default_lr(self, kind_lrs: dict[str, float]) -> float:
        return self.nets[0].default_lr(kind_lrs)

    def generator_work(self, spec: NetworkSpec, header: dict[str, Any]) -> int:  # type: ignore[override]
        """All networks' generator entries (an instance method: the inner kind is known here, not in the class)."""
        return len(self.nets) * type(self.nets[0]).generator_work(spec, header)

    @classmethod
    def stored_shapes(cls, spec: NetworkSpec, header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        return stored_shapes(str(header["param"]), spec, header)

    @classmethod
    def build_layers(cls, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
        return materialize_all(str(header["param"]), spec, header, tensors)


def stored_shapes(name: str, spec: NetworkSpec, header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Shapes of every stored tensor of the file's ``network_count`` networks, in file order."""
    pcls, k = parameterization_class(name), network_count(header)
    if k == 1:
        return pcls.stored_shapes(spec, header)
    return {_prefix(j) + n: s for j in range(k) for n, s in pcls.stored_shapes(spec, _sub_header(header, j)).items()}


def generator_work(name: str, spec: NetworkSpec, header: dict[str, Any]) -> int:
    """Random-matrix entries the decoder regenerates, all networks together."""
    return network_count(header) * parameterization_class(name).generator_work(spec, header)


def materialize_all(name: str, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
    """Decoder side: one network's layers, or K networks' stacked (``(W (K, out, in), b (K, out))``)."""
    k = network_count(header)
    if k == 1:
        return materialize(name, spec, header, tensors)
    per = []
    for j in range(k):
        p = _prefix(j)
        sub = {n[len(p):]: t for n, t in tensors.items() if n.startswith(p)}
        per.append(materialize(name, spec, _sub_header(header, j), sub))
    return stack_layers(per)
