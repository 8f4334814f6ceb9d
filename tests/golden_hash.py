"""SHA-256 of what an ``.inr`` file decodes to, for the golden-file test (tests/golden/).

Two hashes per file: the decoded network weights (float32 layers: pure table lookups, float32 and float64
NumPy ops, identical on every machine) and the decoded signal (image pixels, occupancy voxels, rendered
views rounded to 8 bits), which is what a user gets.
"""

from __future__ import annotations

import hashlib

import numpy as np

import inrzip


def _sha(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def layers_sha256(data: bytes) -> str:
    """Hash of every decoded layer's weight and bias (float32)."""
    from inrzip.api import decoded_layers

    return _sha([t.numpy() for layer in decoded_layers(data) for t in layer])


def decoded_sha256(data: bytes) -> str:
    """Hash of the decoded signal: images as integers, grids as booleans, views rounded to 8 bits."""
    header, out = inrzip.decode(data, progress=False)
    out = np.asarray(out)
    if out.dtype.kind == "f":
        out = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    return _sha([out])
