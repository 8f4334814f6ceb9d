"""Lossless coding of quantized integer codes with a range coder (constriction).

Per tensor we pick, by real coded size, the cheapest of a few probability models:
- ``raw``:     uniform over the 2^bits alphabet (no side info);
- ``laplace``: a discrete two-sided geometric law around an integer centre, decay in 16-bit fixed point;
- ``counts``:  the tensor's own histogram, stored as varints (small alphabets only).
Every probability table is built from integers only, so encoder and decoder get bit-identical
tables on any machine (no libm transcendental functions whose last bit may differ).
"""

from __future__ import annotations

import bz2
import pickle
from dataclasses import dataclass
from functools import lru_cache

import constriction
import numpy as np

from ..errors import FormatError

__all__ = ["Coded", "encode_codes", "decode_codes", "MODELS", "bzip2_pickle_size"]

_LAPLACE_ONE = 1 << 16
_TABLE_PEAK = 1 << 24
_MAX_COUNTS_ALPHABET = 1 << 10


@dataclass
class Coded:
    """An entropy-coded tensor: model id, the model's integer parameters, the compressed words."""

    model: int
    model_params: list[int]
    words: np.ndarray  # uint32


def _categorical(weights: np.ndarray) -> "constriction.stream.model.Categorical":
    return constriction.stream.model.Categorical(weights.astype(np.float64), perfect=False)


@lru_cache(maxsize=64)
def _laplace_table(alphabet: int, center: int, decay: int) -> np.ndarray:
    """Integer weights max(1, floor(2^24 * r^|k - c|)), r = decay / 2^16, by exact integer recursion."""
    dist = np.abs(np.arange(alphabet, dtype=np.int64) - center)
    ladder = np.empty(alphabet, dtype=np.int64)
    v = _TABLE_PEAK
    for d in range(alphabet):
        ladder[d] = max(v, 1)
        v = (v * decay) >> 16
    return ladder[dist]


def _table(model: int, params: list[int], alphabet: int) -> np.ndarray:
    if model == 0:
        return np.ones(alphabet, dtype=np.int64)
    if model == 1:
        if len(params) != 2:
            raise FormatError("corrupt entropy-model parameters")
        c, r = params
        if not (0 <= c < alphabet and 0 <= r < _LAPLACE_ONE):
            raise FormatError("corrupt entropy-model parameters")
        return _laplace_table(alphabet, c, r)
    if model == 2:
        counts = np.asarray(params, dtype=np.int64)
        if counts.shape != (alphabet,) or counts.min(initial=0) < 0 or counts.max(initial=0) > 1 << 40:
            raise FormatError("corrupt histogram in entropy model")
        return counts + 1  # +1 keeps every symbol codable
    raise FormatError(f"unknown entropy model {model}; upgrade inrzip")


MODELS = {0: "raw", 1: "laplace", 2: "counts"}


def _bits_under(table: np.ndarray, hist: np.ndarray) -> float:
    p = table / table.sum()
    nz = hist > 0
    return float(-(hist[nz] * np.log2(p[nz])).sum())


def _varint_bits(values: list[int]) -> int:
    return sum(8 * max(1, (int(v).bit_length() + 6) // 7) for v in values)


def _candidates(codes: np.ndarray, alphabet: int) -> list[tuple[int, list[int]]]:
    hist = np.bincount(codes, minlength=alphabet)
    cands: list[tuple[int, list[int]]] = [(0, [])]
    center = int(np.argmax(hist))
    mad = float(np.abs(codes - center).mean()) if codes.size else 0.0
    base = mad / (1.0 + mad)
    for f in (0.5, 0.7, 0.85, 1.0, 1.15, 1.3):
        r = int(min(max(base * f, 1e-4), 0.9999) * _LAPLACE_ONE)
        cands.append((1, [center, r]))
    if alphabet <= _MAX_COUNTS_ALPHABET:
        cands.append((2, hist.tolist()))
    return cands


def encode_codes(codes: np.ndarray, bits: int) -> Coded:
    """Range-code integer codes in [0, 2^bits) with the model that gives the smallest total size."""
    alphabet = 1 << bits
    codes = np.asarray(codes, dtype=np.int64).ravel()
    hist = np.bincount(codes, minlength=alphabet)
    best = min(_candidates(codes, alphabet),
               key=lambda mp: _bits_under(_table(mp[0], mp[1], alphabet), hist) + _varint_bits(mp[1]))
    enc = constriction.stream.queue.RangeEncoder()
    if codes.size:
        enc.encode(codes.astype(np.int32), _categorical(_table(best[0], best[1], alphabet)))
    return Coded(best[0], best[1], enc.get_compressed().astype(np.uint32))


def decode_codes(coded: Coded, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`encode_codes` for ``count`` symbols."""
    alphabet = 1 << bits
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    dec = constriction.stream.queue.RangeDecoder(np.ascontiguousarray(coded.words, dtype=np.uint32))
    try:
        out = dec.decode(_categorical(_table(coded.model, coded.model_params, alphabet)), count)
    except Exception as exc:  # constriction raises on exhausted/invalid streams
        raise FormatError(f"entropy-coded payload is corrupt ({exc})") from None
    return np.asarray(out, dtype=np.int64)


def bzip2_pickle_size(arrays: dict[str, np.ndarray]) -> int:
    """Bytes of BZIP2 over a pickle of our own quantized arrays: the papers' lossless stage, measured
    for comparison only (we pickle what we made; nothing is ever unpickled)."""
    return len(bz2.compress(pickle.dumps(arrays, protocol=4), 9))
