"""Coordinate networks (``networks``: SIREN and friends as pure functions of weights and coordinates) and
the ways their weights are produced from what is trained and stored (``parameterizations``: mlp, D'OH, with
the portable generator of ``rng``)."""

from .networks import ACTIVATIONS, Layers, NetworkSpec, forward, param_count, parse_arch, weight_count
from .parameterizations import DOH, MLP, PARAMETERIZATIONS, Parameterization, make_parameterization, materialize

__all__ = ["ACTIVATIONS", "Layers", "NetworkSpec", "forward", "param_count", "parse_arch", "weight_count", "DOH",
           "MLP", "PARAMETERIZATIONS", "Parameterization", "make_parameterization", "materialize"]
