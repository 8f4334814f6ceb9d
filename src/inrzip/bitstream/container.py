"""The ``.inr`` container: magic, version, a typed header, coded tensors, a CRC-32.

Layout (all integers little-endian; "varint" = unsigned LEB128)::

    b"INRZ" | u8 version | varint header_len | header | varint n_tensors | tensor* | u32 crc32(all before)
    header  = varint n_fields, then per field: varint key_len, key utf-8, u8 type, value
    tensor  = varint n_qparams, f32 * n | u8 model | varint n_mparams, varint * n | varint n_bytes, bytes

Parsing never trusts a length: every read is bounds-checked, counts are capped, and the caller
validates header values against limits before allocating anything. Spec: docs/format.md.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FormatError
from .entropy import Coded

__all__ = ["MAGIC", "VERSION", "TensorRecord", "write_inr", "read_inr", "read_header"]

MAGIC = b"INRZ"
VERSION = 1
_MAX_FIELDS = 256
_MAX_LIST = 1 << 16
_MAX_STR = 1 << 12
_MAX_TENSORS = 1024
_MAX_QPARAMS = 1 << 16
_MAX_MPARAMS = 1 << 16
# value types
_UINT, _SINT, _F64, _STR, _F32LIST, _BOOL, _INTLIST = range(7)


@dataclass
class TensorRecord:
    """One stored tensor: quantizer side info (float32) and its entropy-coded codes."""

    qparams: np.ndarray
    coded: Coded


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def varint(self, v: int) -> None:
        if v < 0:
            raise ValueError("varint must be >= 0")
        while True:
            byte, v = v & 0x7F, v >> 7
            self.buf.append(byte | (0x80 if v else 0))
            if not v:
                return

    def raw(self, b: bytes) -> None:
        self.buf += b

    def counted(self, count: int, b: bytes) -> None:
        """A varint count, then the bytes it counts (characters, floats or bytes)."""
        self.varint(count)
        self.raw(b)

    def value(self, v: Any) -> None:
        if isinstance(v, bool):
            self.raw(bytes([_BOOL, int(v)]))
        elif isinstance(v, int):
            self.buf.append(_UINT if v >= 0 else _SINT)
            self.varint(abs(v))
        elif isinstance(v, float):
            self.buf.append(_F64)
            self.raw(struct.pack("<d", v))
        elif isinstance(v, str):
            self.buf.append(_STR)
            self.counted(len(v.encode()), v.encode())
        elif isinstance(v, (list, tuple, np.ndarray)) and all(isinstance(x, (int, np.integer)) and x >= 0 for x in v):
            self.buf.append(_INTLIST)
            self.varint(len(v))
            for x in v:
                self.varint(int(x))
        elif isinstance(v, (list, tuple, np.ndarray)):
            a = np.asarray(v, dtype="<f4")
            self.buf.append(_F32LIST)
            self.counted(a.size, a.tobytes())
        else:
            raise TypeError(f"cannot store header value of type {type(v).__name__}")


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise FormatError("file is truncated or corrupt (a section runs past the end)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def varint(self, cap: int = 1 << 62) -> int:
        v, shift = 0, 0
        while True:
            byte = self.u8()
            v |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 63:
                raise FormatError("corrupt varint")
        if v > cap:
            raise FormatError(f"a count in the file ({v}) exceeds the limit {cap}")
        return v

    def value(self) -> Any:
        t = self.u8()
        if t == _BOOL:
            return bool(self.u8())
        if t == _UINT:
            return self.varint()
        if t == _SINT:
            return -self.varint()
        if t == _F64:
            return struct.unpack("<d", self.take(8))[0]
        if t == _STR:
            try:
                return self.take(self.varint(_MAX_STR)).decode()
            except UnicodeDecodeError:
                raise FormatError("corrupt string in header") from None
        if t == _F32LIST:
            n = self.varint(_MAX_LIST)
            return np.frombuffer(self.take(4 * n), dtype="<f4").astype(np.float32).tolist()
        if t == _INTLIST:
            return [self.varint() for _ in range(self.varint(_MAX_LIST))]
        raise FormatError(f"unknown header value type {t}")


def _write_header(w: _Writer, header: dict[str, Any]) -> None:
    h = _Writer()
    h.varint(len(header))
    for key, val in header.items():
        h.counted(len(key.encode()), key.encode())
        h.value(val)
    w.counted(len(h.buf), bytes(h.buf))


def write_inr(header: dict[str, Any], tensors: list[TensorRecord]) -> bytes:
    """Serialise a header and coded tensors into the bytes of an ``.inr`` file."""
    w = _Writer()
    w.raw(MAGIC + bytes([VERSION]))
    _write_header(w, header)
    w.varint(len(tensors))
    for t in tensors:
        q = np.asarray(t.qparams, dtype="<f4")
        w.counted(q.size, q.tobytes())
        w.buf.append(t.coded.model)
        w.varint(len(t.coded.model_params))
        for p in t.coded.model_params:
            w.varint(int(p))
        words = np.asarray(t.coded.words, dtype="<u4").tobytes()
        w.counted(len(words), words)
    w.raw(struct.pack("<I", zlib.crc32(bytes(w.buf))))
    return bytes(w.buf)


def _check_envelope(data: bytes) -> None:
    if len(data) < len(MAGIC) + 1:
        raise FormatError("file is empty or truncated (no inrzip header)")
    if data[:4] != MAGIC:
        raise FormatError("not an inrzip file (bad magic bytes)")
    if data[4] > VERSION or data[4] == 0:
        raise FormatError(f"file is format version {data[4]}; this inrzip reads up to {VERSION} — upgrade inrzip")
    if len(data) < 9:
        raise FormatError("file is truncated")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise FormatError("checksum mismatch: the file is truncated or corrupted")


def _read_header(r: _Reader) -> dict[str, Any]:
    hr = _Reader(r.data, 0, 0)
    n = r.varint(1 << 20)
    hr.pos, hr.end = r.pos, r.pos + n
    r.take(n)
    header: dict[str, Any] = {}
    for _ in range(hr.varint(_MAX_FIELDS)):
        try:
            key = hr.take(hr.varint(64)).decode()
        except UnicodeDecodeError:
            raise FormatError("corrupt header key") from None
        header[key] = hr.value()
    return header


def read_header(data: bytes) -> dict[str, Any]:
    """Verify the envelope (magic, version, checksum) and return the header only."""
    _check_envelope(data)
    return _read_header(_Reader(data, 5, len(data) - 4))


def read_inr(data: bytes) -> tuple[dict[str, Any], list[TensorRecord]]:
    """Parse a whole file; raises ``FormatError`` on anything malformed."""
    _check_envelope(data)
    r = _Reader(data, 5, len(data) - 4)
    header = _read_header(r)
    tensors = []
    for _ in range(r.varint(_MAX_TENSORS)):
        q = np.frombuffer(r.take(4 * r.varint(_MAX_QPARAMS)), dtype="<f4").astype(np.float32)
        model = r.u8()
        mparams = [r.varint() for _ in range(r.varint(_MAX_MPARAMS))]
        nbytes = r.varint(r.end - r.pos)
        if nbytes % 4:
            raise FormatError("corrupt payload length")
        words = np.frombuffer(r.take(nbytes), dtype="<u4").astype(np.uint32)
        tensors.append(TensorRecord(q, Coded(model, mparams, words)))
    if r.pos != r.end:
        raise FormatError("trailing bytes after the last tensor")
    return header, tensors
