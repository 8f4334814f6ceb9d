"""Decoding on a GPU gives the CPU's signal, bit for bit (a file decodes to the same signal on every device).

A GPU's sines and matrix products round differently from the CPU's (network outputs differ by up to a few
1e-6). That changes a decoded integer only where a value sits that close to a rounding or threshold boundary:
on an H200, 4 to 46 of the 1.18 M values of a 768x512 image differed, each by one level, before this
correction (docs/benchmarks.md, "GPU session 2"). So a renderer on a GPU lets the device evaluate every sample
(the draft), and the samples whose value lies within ``MARGIN`` of a boundary, or is not finite, are evaluated
again on the CPU, the reference; their CPU values replace the device's. The CPU's value of a sample does not
depend on which other samples share its batch (the chunked renders rely on the same property:
``base.run_chunks``), so the corrected samples are exactly those of a CPU decode, and every other sample is far
enough from its boundary that the device's drift cannot move it across."""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["MARGIN", "CHUNK", "reference_field", "draft", "near_steps", "correct"]

# How close (in output units: a pixel value in [0, 1], an occupancy value) to a boundary a device's value must be
# for the CPU to recompute it. On an H200 the network outputs of 118 files differed from the CPU's by at most
# 5.2e-6 (Kodak files with an encoding; 3e-7 and less without); 1e-4 is 19 times that and recomputes about 5% of
# an 8-bit image's values (benchmarks/device_decode.py).
MARGIN = 1e-4
CHUNK = 1 << 14  # samples per CPU pass over the flagged ones


def reference_field(field: object, device: torch.device | str) -> object | None:
    """The CPU copy of ``field`` when decoding on another device and the field can move (a network); else None
    (on the CPU, or a plain callable: nothing to correct against)."""
    if torch.device(device).type == "cpu" or not hasattr(field, "to"):
        return None
    return field.to("cpu")


def draft(evaluate: Callable[[torch.Tensor], torch.Tensor], count: int, width: int, chunk: int,
          device: torch.device | str) -> torch.Tensor:
    """(count, width) CPU float32 table of ``evaluate(flat indices)`` run on ``device``, ``chunk`` at a time."""
    table = torch.empty(count, width)
    for s in range(0, count, chunk):
        idx = torch.arange(s, min(count, s + chunk), device=device)
        table[s:s + idx.numel()] = evaluate(idx)[:, :width].float().cpu()
    return table


def near_steps(values: torch.Tensor, peak: int, margin: float = MARGIN) -> torch.Tensor:
    """Rows of ``values`` (network outputs, pixel value minus 0.5, rounded to ``peak`` + 1 levels) that have a
    channel within ``margin`` (output units) of a rounding boundary, or that are not finite."""
    v = (values.double() + 0.5) * peak
    half = (v - torch.floor(v) - 0.5).abs() < margin * peak
    bad = ~torch.isfinite(values)
    return (half | bad).reshape(values.shape[0], -1).any(dim=1)


def correct(draft: torch.Tensor, flagged: torch.Tensor, reference: Callable[[torch.Tensor], torch.Tensor]) -> int:
    """Replace the ``flagged`` rows of ``draft`` (a CPU tensor of the device's values) by ``reference(rows)``, the
    CPU's values of those rows, ``CHUNK`` at a time; returns how many were recomputed."""
    rows = flagged.nonzero().squeeze(1)
    for s in range(0, rows.numel(), CHUNK):
        part = rows[s:s + CHUNK]
        draft[part] = reference(part).to(draft.dtype).reshape(draft[part].shape)
    return int(rows.numel())
