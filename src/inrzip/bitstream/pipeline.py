"""The pipeline between a fitted parameterization and ``.inr`` bytes, both directions.

Encoding quantizes every stored tensor, entropy-codes the integer codes and writes the container;
decoding validates the header against limits *before* allocating, then walks the same path back.
The encoder reports quality by decoding its own bytes, so what it prints is what a user gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError
from ..limits import DEFAULT_LIMITS, Limits
from ..nets.networks import Layers, NetworkSpec
from ..nets.parameterizations import materialize, parameterization_class
from ..quant import QTensor, get_quantizer
from ..signals import signal_class
from .container import TensorRecord, read_header, read_inr, write_inr
from .entropy import bzip2_pickle_size, decode_codes, encode_codes
from .header import header_spec

__all__ = ["SizeReport", "pack", "unpack", "peek"]


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
        return self.stored_values * self.bits / 8.0


def pack(header: dict[str, Any], stored: dict[str, np.ndarray], quantizer: str, bits: int,
         qtensors: dict[str, QTensor] | None = None) -> tuple[bytes, dict[str, np.ndarray], SizeReport]:
    """Quantize + entropy-code ``stored`` tensors under ``header``; returns bytes, dequantized tensors, sizes.
    ``qtensors`` gives ready quantizations (QAT keeps the codebooks training saw)."""
    q = get_quantizer(quantizer)
    records, deq, per, codes = [], {}, {}, {}
    for name, t in stored.items():
        qt = (qtensors or {}).get(name) or q.quantize(np.asarray(t, np.float32).ravel(), bits)
        coded = encode_codes(qt.codes, bits)
        records.append(TensorRecord(qt.params, coded))
        deq[name] = q.dequantize(qt).reshape(t.shape)
        codes[name] = (qt.codes.astype(np.uint16 if bits <= 16 else np.int64), qt.params)
        per[name] = {"values": int(t.size), "code_bytes": int(coded.words.nbytes), "side_bytes": 4 * int(qt.params.size)}
    data = write_inr(header, records)
    hdr_bytes = len(write_inr(header, []))
    code = sum(p["code_bytes"] for p in per.values())
    report = SizeReport(len(data), hdr_bytes, sum(p["values"] for p in per.values()), bits, code,
                        len(data) - hdr_bytes - code, bzip2_pickle_size(codes), per)
    return data, deq, report


def _validate(header: dict[str, Any], spec: NetworkSpec, limits: Limits) -> dict[str, tuple[int, ...]]:
    signal_class(str(header["kind"])).validate_meta(header, limits)
    pcls = parameterization_class(str(header["param"]))
    shapes = pcls.stored_shapes(spec, header)
    total = sum(int(np.prod(s)) for s in shapes.values())
    if total > limits.max_params:
        raise FormatError(f"file claims {total} stored values, over the limit of {limits.max_params}")
    if pcls.generator_work(spec, header) > limits.max_generator_work:
        raise FormatError(f"file asks for a {pcls.name} generator larger than this decoder's limit")
    return shapes


def unpack(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[dict[str, Any], NetworkSpec, Layers]:
    """Decode ``.inr`` bytes into (header, spec, float32 CPU layers)."""
    header, records = read_inr(data)
    spec = header_spec(header)
    shapes = _validate(header, spec, limits)
    if len(records) != len(shapes):
        raise FormatError(f"file holds {len(records)} tensors, its header implies {len(shapes)}")
    q, bits = get_quantizer(header["quant"]), header["bits"]
    tensors = {}
    for (name, shape), rec in zip(shapes.items(), records):
        count = int(np.prod(shape))
        expected = q.num_params(bits, count)
        if expected is not None and rec.qparams.size != expected:
            raise FormatError(f"tensor {name}: {rec.qparams.size} quantizer values, expected {expected}")
        codes = decode_codes(rec.coded, bits, count)
        tensors[name] = q.dequantize(QTensor(codes, rec.qparams, bits)).reshape(shape)
    return header, spec, materialize(header["param"], spec, header, tensors)


def peek(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Header only (for ``inrzip info``), validated like a full decode."""
    header = read_header(data)
    _validate(header, header_spec(header), limits)
    return header
