"""Compress to a target rate (``--bpp``): size the network for the rate, then write the best file under it.

The steps, because a file's size is only known once the trained tensors are entropy-coded:

0. ``default_kind``: without ``--mlp``/``--doh`` the rate picks the network: D'OH below ``MLP_FROM_BPP``, an MLP
   with the positional encoding from there up (docs/rate.md, "Which network").
1. ``plan``: before fitting, choose the network so that its stored values at the planned bits fill the byte
   budget at their raw size (``EFFICIENCY``, coded bytes per raw byte, taken as 1). The entropy coder stores
   trained values at 0.88-0.98 of their raw size, but which depends on the image (docs/rate.md): a plan
   that counts on the saving can leave no file at the planned bits under the budget, and one bit fewer
   costs far more than the saving buys (an MLP with PE at 7 bits instead of 8: 1.6 dB on kodim23). D'OH's
   latent ratio is the fine knob; when the latent would exceed ``MAX_RATIO`` of the weights the network is
   widened (``WIDTHS``), since a latent larger than the weights it generates buys nothing. The MLP's knob
   is its width (``MLP_WIDTHS``) at ``MLP_DEPTH`` hidden layers (or the depth of a given ``--arch``), then a
   shallower depth when the widest that fits is narrow or even the narrowest is too large for the budget.
2. ``choose``: after fitting, for the planned bits and one either side (fewer when none of those fits),
   choose the range clipping ``k`` of the
   distributional quantizer (levels on mean +- k std, within [min, max]): the one with the least quantization
   error of the stored values, unless its file is over the target, then the smallest ``k`` whose file fits
   (bisection: a wider range means coarser steps, fewer distinct codes and a smaller file). Each candidate is
   decoded and the best is kept.
3. ``allocate`` (networks without a latent): bits per tensor by marginal analysis on a cheap distortion proxy,
   filling what the single depth left of the budget; kept when its file decodes better (header ``tbits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch

from .bitstream.entropy import encode_codes
from .bitstream.pipeline import pack
from .config import CompressConfig
from .errors import InrzipError
from .nets.networks import NetworkSpec, infer, parse_arch, weight_count
from .nets.parameterizations import parameterization_class
from .nets.stacked import materialize_all
from .quant import Distributional, QTensor
from .signals import Signal

__all__ = ["EFFICIENCY", "MAX_RATIO", "WIDTHS", "MLP_WIDTHS", "SHALLOW_MIN_WIDTH", "NARROW_WIDTH", "MLP_DEPTH",
           "MLP_FROM_BPP", "default_kind",
           "Candidate", "plan", "choose", "fit_quantization", "allocate", "main_bits", "proxy_distortion", "target_bytes"]

EFFICIENCY = 1.0
MAX_RATIO = 1.0  # the D'OH paper's largest ratio; widening costs time per step (the generator grows with width^2)
WIDTHS = (12, 16, 20, 28, 40, 56, 80, 112)
# An MLP has no fine knob but its width: every width in WIDTHS' span, so the plan is within one unit of width.
MLP_WIDTHS = tuple(range(WIDTHS[0], WIDTHS[-1] + 1))
SHALLOW_MIN_WIDTH = 16  # a network made shallower to fit the budget is at least this wide (``_mlp_plan``)
NARROW_WIDTH = 20  # a planned MLP narrower than this gives way to a shallower one this wide, if one fits
# Hidden layers of the planned MLP when the user gives no --arch (a depth given with --arch is kept). Measured
# off the test set, on four DIV2K photographs at 0.1-0.5 bpp (benchmarks/rate_table.py, docs/rate.md "Depth per
# rate"): depths 5 and 7 are level and 0.35-0.5 dB above 9 at 0.3 and 0.5 bpp in 60 s per fit, 0.2 dB in 300 s;
# at 0.1 bpp the narrow-width rule above already goes shallower. Kodak subset BD-rate vs JPEG: -27.1% -> -30.8%.
MLP_DEPTH = 7
# ``--bpp`` without --mlp/--doh: from this rate up an MLP with the positional encoding gives the better file in
# a CPU budget (8-bit quantization costs it 0.1-0.5 dB, and its steps are 2-4x cheaper than D'OH's); below it
# D'OH, whose small latent is what fits. Measured on kodim03 and kodim23: level at 0.05 bpp, the MLP ahead from
# 0.1 (docs/rate.md, "Which network").
MLP_FROM_BPP = 0.08
_K_RANGE = (1.0, 64.0)  # std multiples: 64 is the data's own [min, max] for any realistic tensor


@dataclass
class Candidate:
    """One way to write the fitted network: its bits, clipping and resulting size and quality."""

    bits: int
    k: float
    size: int
    quality: float = math.nan


def default_kind(bpp: float) -> dict[str, Any]:
    """The network kind ``--bpp`` uses when the user chose none (``CompressConfig`` fields)."""
    return {"parameterization": "mlp", "pe": True} if bpp >= MLP_FROM_BPP else {"parameterization": "doh"}


def target_bytes(bpp: float, pixels: int) -> int:
    if not (isinstance(bpp, (int, float)) and 0 < bpp < 64):
        raise InrzipError(f"--bpp {bpp!r} is invalid; give bits per pixel between 0 and 64, e.g. 0.3")
    return int(bpp * pixels / 8)


def _stored_values(spec: NetworkSpec, cfg: CompressConfig, latent: int = 1) -> int:
    """Values the file stores for this network (a latent of ``latent`` values where there is one)."""
    shapes = parameterization_class(cfg.parameterization).stored_shapes(spec, {"latent": latent, "seed": 0})
    return sum(math.prod(s) for s in shapes.values())


def plan(cfg: CompressConfig, spec_for: Callable[[CompressConfig], NetworkSpec], budget: int,
         header_bytes: int = 160, keep_depth: bool = False) -> CompressConfig:
    """``cfg`` (resolved) with its network sized so the stored values at ``cfg.bits`` fill ``budget`` bytes.
    ``spec_for`` gives the network spec of a config (the signal decides its inputs and outputs).
    ``keep_depth`` (the user gave ``--arch``): an MLP keeps that depth whenever some width of it fits; otherwise an
    MLP is planned at ``MLP_DEPTH`` hidden layers."""
    has_latent = parameterization_class(cfg.parameterization).has_latent
    values = max(1, int((budget - header_bytes) * 8 / (EFFICIENCY * cfg.bits)))
    width, hidden = parse_arch(cfg.arch)
    if not has_latent:
        return _mlp_plan(cfg, spec_for, values, hidden if keep_depth else MLP_DEPTH, keep_depth)
    for w in sorted({width, *WIDTHS}):  # the narrowest one whose latent stays under MAX_RATIO of its weights
        trial = replace(cfg, arch=f"{w}x{hidden}")
        spec = spec_for(trial)
        latent = values - (_stored_values(spec, trial) - 1)  # what the biases leave
        if w >= width and 0 < latent <= MAX_RATIO * weight_count(spec):
            return replace(trial, latent_dim=latent, latent_ratio=latent / weight_count(spec))
    spec = spec_for(cfg)
    latent = max(1, values - (_stored_values(spec, cfg) - 1))
    return replace(cfg, latent_dim=latent, latent_ratio=latent / weight_count(spec))


def _widest(cfg: CompressConfig, spec_for: Callable[[CompressConfig], NetworkSpec], values: int, depth: int,
            min_width: int) -> CompressConfig | None:
    """The widest MLP of ``depth`` hidden layers, at least ``min_width`` wide, whose stored values fit."""
    best = None
    for w in MLP_WIDTHS[max(0, min_width - MLP_WIDTHS[0]):]:
        trial = replace(cfg, arch=f"{w}x{depth}")
        if _stored_values(spec_for(trial), trial) > values:  # stored values grow with the width
            break
        best = trial
    return best


def _mlp_plan(cfg: CompressConfig, spec_for: Callable[[CompressConfig], NetworkSpec], values: int,
              hidden: int, keep_depth: bool = False) -> CompressConfig:
    """The widest MLP of ``hidden`` layers whose stored values fit ``values``, unless it is narrower than
    ``NARROW_WIDTH``: narrow layers lose 1-2 dB to quantization, so then the deepest shallower network at least
    that wide (256x192 photographs at 0.5 bpp: 20x5 21.77 / 25.62 dB against 15x9 20.27 / 23.68). When nothing
    of ``hidden`` layers fits (a small image at a low rate), the deepest shallower one at least
    ``SHALLOW_MIN_WIDTH`` wide (the same photographs at 0.3 bpp: 16x3 4.3-9.2 dB above 12x9 cut to 5-6 bits;
    docs/rate.md). None fits: the narrowest of one layer, and ``choose`` cuts bits."""
    asked = _widest(cfg, spec_for, values, hidden, MLP_WIDTHS[0])
    if asked is not None and (keep_depth or parse_arch(asked.arch)[0] >= NARROW_WIDTH):
        return asked
    min_width = NARROW_WIDTH if asked is not None else SHALLOW_MIN_WIDTH
    for depth in range(hidden - 1, 0, -1):
        found = _widest(cfg, spec_for, values, depth, min_width)
        if found is not None:
            return found
    return asked or replace(cfg, arch=f"{MLP_WIDTHS[0]}x1")


def _largest_under(size_at: Callable[[float], int], budget: int, iters: int = 14) -> float | None:
    """Smallest clipping k (finest steps) whose file fits ``budget``; None if even the widest range does not."""
    lo, hi = _K_RANGE
    if size_at(hi) > budget:
        return None
    if size_at(lo) <= budget:
        return lo
    for _ in range(iters):  # size falls as k grows: bisect in log k
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if size_at(mid) > budget else (lo, mid)
    return hi


_K_GRID = tuple(2.0 ** (e / 4) for e in range(0, 25))  # 1 .. 64 std, quarter octaves


def choose(size_at: Callable[[int, float], int], quality_at: Callable[[int, float], float], bits: int,
           budget: int, error_at: Callable[[int, float], float]) -> Candidate:
    """The best-quality (bits, k) whose file fits ``budget``, among the planned bits and one either side;
    ``error_at`` is the stored values' quantization error (cheap: no decoding) that picks k within a depth."""
    found: list[Candidate] = []
    for b in range(min(bits + 1, 16), 1, -1):  # one above the plan, the plan, one below; lower only if none fit
        if b < bits - 1 and found:
            break
        k_fit = _largest_under(lambda kk, b=b: size_at(b, kk), budget)
        if k_fit is not None:
            k = max(k_fit, min(_K_GRID, key=lambda kk, b=b: error_at(b, kk)))
            found.append(Candidate(b, k, size_at(b, k)))
    if not found:  # the smallest file: 2 bits, the widest range (size_at falls as k grows)
        raise InrzipError(f"no file of this network fits {budget} bytes even at 2 bits (its smallest is "
                          f"{size_at(2, _K_RANGE[1])} B); raise --bpp or choose a smaller --arch")
    for c in found:
        c.quality = quality_at(c.bits, c.k)
    return max(found, key=lambda c: c.quality)


def smallest_file(stored: dict[str, np.ndarray], header: dict[str, Any]) -> int:
    """A floor under every file ``choose`` can write for tensors of these shapes: each tensor constant and at 2 bits
    (the fewest it tries), so the codes cost next to nothing and what is left is the header and the tables. A rate
    under it is refused before a fit is spent on it."""
    flat = {name: np.zeros(v.shape, np.float32) for name, v in stored.items()}
    q = Distributional(k=_K_RANGE[1])
    return len(pack(header, flat, "distributional", 2, {n: q.quantize(v.ravel(), 2) for n, v in flat.items()})[0])


def fit_quantization(stored: dict[str, np.ndarray], header_at: Callable[[int], dict[str, Any]], bits: int,
                     budget: int, quality_at: Callable[[dict[str, QTensor]], float],
                     distortion: Callable[[dict[str, QTensor]], float] | None = None
                     ) -> tuple[Candidate, dict[str, QTensor]]:
    """``choose`` for the distributional quantizer of the ``stored`` tensors: each (bits, k) is quantized once
    and sized by packing it under ``header_at(bits)``; ``quality_at`` scores a candidate's tables (decoded).
    With a ``distortion`` proxy (lower is better), each tensor's bits are also allocated on their own
    (``allocate``) and that file is kept when it decodes better. Returns the best candidate and its tables."""

    @lru_cache(maxsize=None)
    def tables(b: int, k: float) -> dict[str, QTensor]:
        q = Distributional(k=k)
        return {name: q.quantize(v.ravel(), b) for name, v in stored.items()}

    def size_at(b: int, k: float) -> int:
        return len(pack(header_at(b), stored, "distributional", b, tables(b, k))[0])

    def error_at(b: int, k: float) -> float:
        q = Distributional(k=k)
        return sum(float(np.square(q.dequantize(t) - stored[n].ravel()).sum()) for n, t in tables(b, k).items())

    best = choose(size_at, lambda b, k: quality_at(tables(b, k)), bits, budget, error_at)
    chosen = tables(best.bits, best.k)
    if distortion is not None and len(stored) > 1:
        mixed = allocate(stored, header_at, max(2, best.bits - 1), budget, distortion)
        if mixed is not None and (quality := quality_at(mixed)) > best.quality:
            base = main_bits(mixed)
            best = Candidate(base, math.nan, len(pack(header_at(base), stored, "distributional", base, mixed)[0]),
                             quality)
            chosen = mixed
    return best, chosen


def proxy_distortion(signal: Signal, spec: NetworkSpec, param_name: str, stored: dict[str, np.ndarray],
                     header: dict[str, Any], samples: int = 1 << 16) -> Callable[[dict[str, QTensor]], float]:
    """Mean squared error of the network with quantized tensors on a fixed random subset of the signal's
    samples: a cheap stand-in for decoding the whole file when comparing many quantizations (``allocate``).
    Why a subset: 65k samples rank quantizations as the full decode does, at a fraction of its cost."""
    q = Distributional()
    shapes = {n: v.shape for n, v in stored.items()}
    coords, targets = next(signal.batches(samples, torch.Generator().manual_seed(0), torch.device("cpu")))

    def mse(tables: dict[str, QTensor]) -> float:
        tensors = {n: q.dequantize(t).reshape(shapes[n]) for n, t in tables.items()}
        layers = materialize_all(param_name, spec, header, tensors)
        with torch.no_grad():
            return float(torch.mean((signal.predict(lambda x: infer(spec, layers, x), coords) - targets) ** 2))
    return mse


def main_bits(tables: dict[str, QTensor]) -> int:
    """The bits most stored values have: the header's ``bits`` of a file whose tensors differ."""
    weight: dict[int, int] = {}
    for t in tables.values():
        weight[t.bits] = weight.get(t.bits, 0) + t.codes.size
    return max(weight, key=lambda b: (weight[b], b))


def allocate(stored: dict[str, np.ndarray], header_at: Callable[[int], dict[str, Any]], start: int, budget: int,
             distortion: Callable[[dict[str, QTensor]], float], max_bits: int = 16) -> dict[str, QTensor] | None:
    """Bits per tensor by marginal analysis: from ``start`` bits everywhere, repeatedly give one more bit to the
    tensor whose extra bit lowers ``distortion`` most per extra byte, while the file fits ``budget``.

    Why: tensors differ in how much an output error their quantization causes (the first layer of a network
    with a positional encoding most) and in how well their codes compress, so one depth for all leaves either
    bytes unspent under the budget or a whole bit lost to fit it. Each (tensor, bits) is quantized with the
    clipping of least error. Gains are re-measured for the tensor just raised only (the others' barely move).
    Returns None when even ``start`` bits do not fit."""

    @lru_cache(maxsize=None)
    def table(name: str, b: int) -> QTensor:
        x = stored[name].ravel()
        options = [Distributional(k=k).quantize(x, b) for k in _K_GRID]
        q = Distributional()
        return min(options, key=lambda t: float(np.square(q.dequantize(t) - x).sum()))

    @lru_cache(maxsize=None)
    def record(name: str, b: int) -> int:
        t = table(name, b)
        return int(encode_codes(t.codes, b).words.nbytes) + 4 * int(t.params.size)

    depth = dict.fromkeys(stored, start)
    current = {n: table(n, start) for n in stored}
    used = len(pack(header_at(start), stored, "distributional", start, current)[0]) + 2 * len(stored)  # + tbits
    if used > budget:
        return None
    level = distortion(current)

    def gain(name: str) -> float:
        b = depth[name]
        trial = {**current, name: table(name, b + 1)}
        return (level - distortion(trial)) / max(1, record(name, b + 1) - record(name, b))

    gains = {n: gain(n) for n in stored if depth[n] < max_bits}
    while gains:
        fits = [n for n in gains if gains[n] > 0 and used + record(n, depth[n] + 1) - record(n, depth[n]) <= budget]
        if not fits:
            break
        name = max(fits, key=gains.__getitem__)
        used += record(name, depth[name] + 1) - record(name, depth[name])
        depth[name] += 1
        current[name] = table(name, depth[name])
        level = distortion(current)
        if depth[name] < max_bits:
            gains[name] = gain(name)
        else:
            del gains[name]
    while len(pack(header_at(main_bits(current)), stored, "distributional", main_bits(current), current)[0]) > budget:
        name = max((n for n in stored if depth[n] > start), key=lambda n: record(n, depth[n]), default=None)
        if name is None:  # the estimate was off at ``start`` itself: nothing left to take back
            return None
        depth[name] -= 1
        current[name] = table(name, depth[name])
    return current
