"""The pipeline between a fitted parameterization and ``.inr`` bytes, both directions.

Encoding quantizes every stored tensor, entropy-codes the integer codes and writes the container;
decoding validates the header against limits *before* allocating, then walks the same path back.
The encoder reports quality by decoding its own bytes, so what it prints is what a user gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, shown
from ..limits import DEFAULT_LIMITS, Limits
from ..nets.networks import Layers, NetworkSpec, weight_count
from ..nets.parameterizations import parameterization_class
from ..nets.stacked import generator_work, materialize_all, network_count, stored_shapes
from ..quant import QTensor, Quantizer, get_quantizer
from ..signals import signal_class
from .container import TensorRecord, read_header, read_inr, write_inr
from .entropy import bzip2_pickle_size, decode_codes, encode_codes
from .header import header_spec

__all__ = ["SizeReport", "pack", "unpack", "peek", "tensor_bits"]


@dataclass
class SizeReport:
    """Where the bytes go: real file vs the papers' params x bits estimate."""

    file_bytes: int
    header_bytes: int
    stored_values: int
    bits: int
    code_bytes: int  # entropy-coded integers
    side_bytes: int  # quantizer side info (ranges, codebooks) + entropy-model parameters
    bzip2_pickle_bytes: int  # the papers' lossless stage on the same quantized data
    per_tensor: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def estimated_bytes(self) -> float:
        """The papers' estimate: each stored value at its tensor's bits."""
        if self.per_tensor and all("bits" in p for p in self.per_tensor.values()):
            return sum(p["values"] * p["bits"] for p in self.per_tensor.values()) / 8.0
        return self.stored_values * self.bits / 8.0


def pack(header: dict[str, Any], stored: dict[str, np.ndarray], quantizer: str, bits: int,
         qtensors: dict[str, QTensor] | None = None) -> tuple[bytes, dict[str, np.ndarray], SizeReport]:
    """Quantize + entropy-code ``stored`` tensors under ``header``; returns bytes, dequantized tensors, sizes.
    ``qtensors`` gives ready quantizations (QAT keeps the codebooks training saw; rate control gives tensors
    their own bits): when a tensor's bits differ from ``bits`` the header lists every tensor's (``tbits``)."""
    q = get_quantizer(quantizer)
    records, deq, per, codes = [], {}, {}, {}
    for name, t in stored.items():
        qt = (qtensors or {}).get(name) or q.quantize(np.asarray(t, np.float32).ravel(), bits)
        coded = encode_codes(qt.codes, qt.bits)
        records.append(TensorRecord(qt.params, coded))
        deq[name] = q.dequantize(qt).reshape(t.shape)
        codes[name] = (qt.codes.astype(np.uint16), qt.params)
        per[name] = {"values": int(t.size), "bits": int(qt.bits), "code_bytes": int(coded.words.nbytes),
                     "side_bytes": 4 * int(qt.params.size)}
    tbits = [p["bits"] for p in per.values()]
    if any(b != bits for b in tbits):  # absent: every tensor at ``bits`` (every file before per-tensor bits)
        header = {**header, "tbits": tbits}
    data = write_inr(header, records)
    hdr_bytes = len(write_inr(header, []))
    code = sum(p["code_bytes"] for p in per.values())
    report = SizeReport(len(data), hdr_bytes, sum(p["values"] for p in per.values()), bits, code,
                        len(data) - hdr_bytes - code, bzip2_pickle_size(codes), per)
    return data, deq, report


def _check_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise FormatError(f"file is {len(data)} bytes, over the limit of {limits.max_file_bytes} for an .inr file "
                          f"({limits.hint('max_file_bytes')} if you trust it)")


def tensor_bits(header: dict[str, Any], count: int) -> list[int]:
    """Bits of each of the ``count`` stored tensors: the optional ``tbits`` list, else ``bits`` for all."""
    if "tbits" not in header:
        return [header["bits"]] * count
    value = header["tbits"]
    ok = isinstance(value, list) and len(value) == count and all(
        isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 16 for b in value)
    if not ok:
        raise FormatError(f"header tbits {shown(value)} must give 1..16 bits for each of the {count} stored tensors")
    return value


def _validate(header: dict[str, Any], spec: NetworkSpec, limits: Limits) -> dict[str, tuple[int, ...]]:
    """Shapes of the stored tensors, once the header is within every limit (nothing is allocated before)."""
    signal_class(str(header["kind"])).validate_meta(header, limits)
    pcls = parameterization_class(str(header["param"]))
    shapes = stored_shapes(pcls.name, spec, header)  # every network's (``networks``: NeRF's coarse + fine)
    total = sum(int(np.prod(s)) for s in shapes.values())
    if total > limits.max_params:
        raise FormatError(f"file claims {total} stored values, over the limit of {limits.max_params} "
                          f"({limits.hint('max_params')} if you trust this file)")
    weights = network_count(header) * weight_count(spec)
    if weights > limits.max_weights:
        raise FormatError(f"file describes a network of {weights} weights, over the limit of "
                          f"{limits.max_weights} ({limits.hint('max_weights')} if you trust this file)")
    work = generator_work(pcls.name, spec, header)
    if work > limits.max_generator_work:
        raise FormatError(f"file asks for a {pcls.name} generator of {work} entries, over "
                          f"the limit of {limits.max_generator_work} ({limits.hint('max_generator_work')} if you trust it)")
    tensor_bits(header, len(shapes))
    return shapes


def _dequantize(name: str, q: Quantizer, rec: TensorRecord, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor's values; non-finite side info or values are a corrupt (or hostile) file, refused here so
    that no NaN reaches the network or a writer."""
    count = int(np.prod(shape))
    expected = q.num_params(bits, count)
    if expected is not None and rec.qparams.size != expected:
        raise FormatError(f"tensor {name}: {rec.qparams.size} quantizer values, expected {expected}")
    if not np.isfinite(rec.qparams).all():
        raise FormatError(f"tensor {name}: quantizer side info holds NaN or infinity; the file is corrupt")
    codes = decode_codes(rec.coded, bits, count)
    values = q.dequantize(QTensor(codes, rec.qparams, bits))
    if not np.isfinite(values).all():
        raise FormatError(f"tensor {name}: decoded values are not finite; the file is corrupt")
    return values.reshape(shape)


def unpack(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[dict[str, Any], NetworkSpec, Layers]:
    """Decode ``.inr`` bytes into (header, spec, float32 CPU layers), every size checked against ``limits``
    before it is allocated."""
    _check_size(data, limits)
    header, records = read_inr(data)
    spec = header_spec(header)
    shapes = _validate(header, spec, limits)
    if len(records) != len(shapes):
        raise FormatError(f"file holds {len(records)} tensors, its header implies {len(shapes)}")
    q = get_quantizer(header["quant"])
    tensors = {name: _dequantize(name, q, rec, bits, shape)
               for (name, shape), rec, bits in zip(shapes.items(), records, tensor_bits(header, len(shapes)))}
    return header, spec, materialize_all(header["param"], spec, header, tensors)


def peek(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Header only (for ``inrzip info``), validated like a full decode."""
    _check_size(data, limits)
    header = read_header(data)
    _validate(header, header_spec(header), limits)
    return header
