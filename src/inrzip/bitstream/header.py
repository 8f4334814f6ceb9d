"""The header fields that describe the network, both directions: a spec -> fields, fields -> a checked spec.

These names are part of the format (docs/format.md); the signal kind adds its own fields (``Signal.meta``)
and the parameterization its own (``Parameterization.header``: D'OH's seed, latent size and init).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import FormatError, shown
from ..nets.networks import ACTIVATIONS, NetworkSpec
from ..nets.parameterizations import Parameterization
from ..quant import QUANTIZERS

__all__ = ["NET_KEYS", "network_header", "header_spec"]

NET_KEYS = ("kind", "in", "out", "width", "hidden", "act", "omega", "pe", "param", "quant", "bits")


def network_header(spec: NetworkSpec, param: Parameterization, quantizer: str, bits: int, kind: str) -> dict[str, Any]:
    """Header fields of a network ``spec`` produced by ``param``, stored with ``quantizer`` at ``bits``."""
    axes = {"pe_grid": list(spec.pe_grid)} if spec.pe_grid else {}  # absent: the octave encoding of earlier files
    if spec.pe_grid and spec.pe_cap != 1.0:  # absent: the exact aliases (files of 2026-12-03 before the cap)
        axes["pe_cap"] = float(spec.pe_cap)
    return {"kind": kind, "in": spec.in_features, "out": spec.out_features, "width": spec.width,
            "hidden": spec.hidden, "act": spec.activation, "omega": float(spec.omega), "pe": spec.pe_freqs, **axes,
            "param": param.name, **param.header(), "quant": quantizer, "bits": bits}


def header_spec(header: dict[str, Any]) -> NetworkSpec:
    """Network spec from a header, with every field type- and range-checked."""
    missing = [k for k in NET_KEYS if k not in header]
    if missing:
        raise FormatError(f"header lacks fields {missing}")
    ints = {k: header[k] for k in ("in", "out", "width", "hidden", "pe", "bits")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints.values()):
        raise FormatError("header has non-integer shape fields")
    if not (1 <= ints["in"] <= 1024 and 1 <= ints["out"] <= 64 and 1 <= ints["width"] <= 4096
            and 0 <= ints["hidden"] <= 64 and 0 <= ints["pe"] <= 32 and 1 <= ints["bits"] <= 16):
        raise FormatError("header network shape is out of range")
    if not isinstance(header["act"], str) or header["act"] not in ACTIVATIONS:
        raise FormatError(f"unknown activation {shown(header['act'])}; upgrade inrzip")
    omega = header["omega"]
    if not (isinstance(omega, float) and math.isfinite(omega) and omega > 0):
        raise FormatError(f"header has an invalid sine frequency omega {shown(omega)} (a positive finite number)")
    if not isinstance(header["quant"], str) or not isinstance(header["param"], str) or not isinstance(header["kind"], str):
        raise FormatError("header has a non-text kind, parameterization or quantizer")
    if header["quant"] not in QUANTIZERS:
        raise FormatError(f"unknown quantizer {shown(header['quant'])}; upgrade inrzip")
    return NetworkSpec(ints["in"], ints["out"], ints["width"], ints["hidden"], header["act"], header["omega"], ints["pe"],
                       _pe_grid(header, ints["in"]), _pe_cap(header))


def _pe_cap(header: dict[str, Any]) -> float:
    """Fraction of the Nyquist rate the folded encoding keeps to (optional field, only beside ``pe_grid``)."""
    value = header.get("pe_cap", 1.0)
    if "pe_cap" in header and "pe_grid" not in header:
        raise FormatError("header has pe_cap without pe_grid; the file is corrupt")
    if not (isinstance(value, float) and math.isfinite(value) and 0.0 < value <= 1.0):
        raise FormatError(f"header pe_cap {shown(value)} must be a number in (0, 1]")
    return value


_MAX_GRID = 1 << 24  # samples per axis of a fitted grid (the limits allow 2^26 pixels in all)


def _pe_grid(header: dict[str, Any], axes: int) -> tuple[int, ...]:
    """Samples per axis of the grid a band-limited encoding is folded to (optional field)."""
    value = header.get("pe_grid")
    if value is None:
        return ()
    ok = isinstance(value, list) and len(value) == axes and all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= _MAX_GRID for v in value)
    if not ok:
        raise FormatError(f"header pe_grid {shown(value)} must give 1..{_MAX_GRID} samples for each of the {axes} axes")
    return tuple(value)
