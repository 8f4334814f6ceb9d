"""Coordinate networks (SIREN and friends) as pure functions of (layers, coords).

Weights come from outside (a parameterization), so the same forward serves plain MLPs, D'OH
hypernetworks, quantized networks and decoded files. Architecture "WxL" means width W and L
hidden-to-hidden layers, as in the papers: L + 2 linear layers, e.g. 9x40 = 14961 parameters.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import InrzipError
from ..registry import Registry

__all__ = [
    "NetworkSpec", "Activation", "ACTIVATIONS", "Layers", "parse_arch", "layer_shapes", "weight_count",
    "param_count", "init_bounds", "folded_harmonics", "pe_frequencies",
    "positional_encoding", "encode_inputs", "feature_axes", "linear", "forward", "infer", "infer_features",
    "NetworkField",
    "stack_layers",
]

Layers = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes a network's shape and function (but not its weights)."""

    in_features: int  # raw coordinate dimension
    out_features: int
    width: int
    hidden: int  # hidden-to-hidden layers (the paper's "9" in 9x40)
    activation: str = "sine"
    omega: float = 30.0  # sine frequency, first layer included (SIREN's w0 = w0_initial = 30)
    pe_freqs: int = 0  # positional-encoding frequencies per axis; 0 = raw coordinates
    # Band-limited encoding: samples per input axis of the grid the network was fitted on. Each octave frequency
    # 2^k pi is replaced by its alias on that grid (``folded_harmonics``): the same features at the samples, but
    # none above the grid's Nyquist rate between them. Empty: the octave encoding of files before it.
    pe_grid: tuple[int, ...] = ()
    # With a grid: folded harmonics above this fraction of the Nyquist rate are lowered by octaves
    # (``folded_harmonics``). 1: the exact aliases (files with ``pe_grid`` and no ``pe_cap``).
    pe_cap: float = 1.0

    @property
    def encoded_features(self) -> int:
        """Input width after positional encoding: raw + sin/cos per frequency per axis."""
        return self.in_features + 2 * sum(len(f) for f in _pe_frequencies(self))


@dataclass(frozen=True)
class Activation:
    """A nonlinearity and the weight init that goes with it (bounds of a uniform distribution)."""

    fn: Callable[[torch.Tensor, float], torch.Tensor]
    first_bound: Callable[[int, float], float]  # (fan_in, omega) -> bound of U(-b, b)
    hidden_bound: Callable[[int, float], float]


ACTIVATIONS: Registry[Activation] = Registry("activation")


def _kaiming(fan_in: int, omega: float) -> float:
    return 1.0 / math.sqrt(fan_in)  # PyTorch nn.Linear default (kaiming_uniform with a=sqrt(5))


# SIREN reference code: first layer U(+-1/fan_in), hidden U(+-sqrt(6/fan_in)/omega).
ACTIVATIONS["sine"] = Activation(
    fn=lambda x, w: torch.sin(w * x),
    first_bound=lambda fan_in, w: 1.0 / fan_in,
    hidden_bound=lambda fan_in, w: math.sqrt(6.0 / fan_in) / w,
)
ACTIVATIONS["relu"] = Activation(fn=lambda x, w: F.relu(x), first_bound=_kaiming, hidden_bound=_kaiming)
# Gaussian activation exp(-x^2 / (2 s^2)) with s = 0.1 (Ramasinghe & Lucey, "Beyond periodicity").
ACTIVATIONS["gauss"] = Activation(
    fn=lambda x, w: torch.exp(-0.5 * (x / 0.1) ** 2), first_bound=_kaiming, hidden_bound=_kaiming,
)


def parse_arch(arch: str) -> tuple[int, int]:
    """'28x9' -> (width 28, hidden layers 9)."""
    try:
        w, h = (int(p) for p in arch.lower().split("x"))
    except ValueError:
        raise InrzipError(f"bad architecture {arch!r}; write WIDTHxHIDDEN, e.g. 28x9") from None
    if not (1 <= w <= 4096 and 0 <= h <= 64):
        raise InrzipError(f"architecture {arch!r} out of range (width 1..4096, hidden layers 0..64)")
    return w, h


def layer_shapes(spec: NetworkSpec) -> list[tuple[int, int]]:
    """(out, in) of every linear layer, first to last."""
    dims = [spec.encoded_features] + [spec.width] * (spec.hidden + 1) + [spec.out_features]
    return [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]


def weight_count(spec: NetworkSpec) -> int:
    return sum(o * i for o, i in layer_shapes(spec))


def param_count(spec: NetworkSpec) -> int:
    return sum(o * i + o for o, i in layer_shapes(spec))


def init_bounds(spec: NetworkSpec, scheme: str = "siren") -> list[float]:
    """Per-layer weight bound of U(-b, b). ``scheme='doh'`` uses the D'OH supplement's narrower
    hidden target U(+-1/(omega sqrt h)) (its eqs. 14-16) for sine networks; 'siren' the reference code's."""
    act = ACTIVATIONS[spec.activation]
    bounds = []
    for i, (_, fan_in) in enumerate(layer_shapes(spec)):
        if i == 0:
            bounds.append(act.first_bound(fan_in, spec.omega))
        elif scheme == "doh" and spec.activation == "sine":
            bounds.append(1.0 / (spec.omega * math.sqrt(fan_in)))
        else:
            bounds.append(act.hidden_bound(fan_in, spec.omega))
    return bounds


def folded_harmonics(count: int, samples: int, cap: float = 1.0) -> list[tuple[int, int]]:
    """The octave frequencies 2^k pi (k < count) as ``samples`` points on [-1, 1] see them: (j, s) such that
    s sin(j pi x) and s cos(j pi x) equal sin(2^k pi x) and cos(2^k pi x) at every sample, with j = 2^k mod
    (samples - 1) folded into |j| <= (samples - 1) / 2, the grid's Nyquist rate, and s = +-1. Higher frequencies
    exist only between the samples, where they oscillate (2^9 pi on a 512-point axis is pi at the samples):
    that is what striped --scale 2 decodes. Exact integer arithmetic: every machine derives the same pairs.
    With ``cap`` < 1, an alias above ``cap`` times the Nyquist rate is halved (towards 0) until it is not: a
    feature near the Nyquist rate alternates sign from sample to sample, and fits lean on it for detail that
    oscillates between the samples (docs/resolution.md: at cap 0.5 the 2x decodes and the 1x fits improve)."""
    period = samples - 1  # in harmonics: at the samples x_i = -1 + 2i/period, j and j + period agree
    if period < 1:  # one sample, at x = 0: every feature is sin 0, cos 0
        return [(0, 1)] * count
    out = []
    for k in range(count):
        r = pow(2, k, period)
        j = r if 2 * r <= period else r - period
        # sin(2^k pi x_i) = sin(t - 2^k pi), sin(j pi x_i) = sin(t - j pi) for the same t: a sign (-1)^(2^k + j)
        sign = -1 if (2 ** min(k, 1) + j) % 2 else 1
        while 2 * abs(j) > cap * period:  # lowered by octaves, towards 0 (the sign stays that of the fold)
            j = abs(j) // 2 * (1 if j > 0 else -1)
        out.append((j, sign))
    return out


def pe_frequencies(spec: NetworkSpec) -> list[list[tuple[float, float]]]:
    """(angular frequency, sign) of every encoding feature pair, per input axis."""
    return [list(axis) for axis in _pe_frequencies(spec)]


@functools.lru_cache(maxsize=256)
def _pe_frequencies(spec: NetworkSpec) -> tuple[tuple[tuple[float, float], ...], ...]:
    """``pe_frequencies`` as an immutable, cached value: a fit encodes every batch, and deriving the pairs in
    Python each time was most of the encoding's cost on a 28-wide network's batch."""
    if spec.pe_freqs == 0:
        return tuple(() for _ in range(spec.in_features))
    if not spec.pe_grid:
        return tuple(tuple((2.0 ** k * math.pi, 1.0) for k in range(spec.pe_freqs)) for _ in range(spec.in_features))
    return tuple(tuple((j * math.pi, float(s)) for j, s in folded_harmonics(spec.pe_freqs, n, spec.pe_cap))
                 for n in spec.pe_grid)


@functools.lru_cache(maxsize=256)
def _pe_tables(freqs: tuple[tuple[tuple[float, float], ...], ...], dtype: torch.dtype, device: torch.device
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(w per feature, s per feature, the columns kept or None for all) of explicit pairs: built once per encoding
    and device."""
    rows = max((len(f) for f in freqs), default=0)
    table = torch.tensor([[f[k] if k < len(f) else (0.0, 1.0) for f in freqs] for k in range(rows)],
                         dtype=dtype, device=device)  # (rows, axes, 2)
    kept = [k * len(freqs) + a for k in range(rows) for a, f in enumerate(freqs) if k < len(f)]
    keep = torch.tensor(kept, device=device)
    return table[..., 0], table[..., 1].flatten()[keep], None if kept == list(range(rows * len(freqs))) else keep


def positional_encoding(x: torch.Tensor, freqs: int | Sequence[Sequence[tuple[float, float]]]) -> torch.Tensor:
    """[x, s sin(w x), s cos(w x)] concatenated on the last axis, frequency-major then axis. ``freqs``: a count of
    octave frequencies 2^k pi on every axis (NeRF-style, s = 1), or explicit (w, s) pairs per axis."""
    if isinstance(freqs, int):
        if freqs == 0:
            return x
        scales = (2.0 ** torch.arange(freqs, dtype=x.dtype, device=x.device)) * math.pi
        xb = (x[..., None, :] * scales[:, None]).flatten(-2)  # (..., freqs * d)
        return torch.cat([x, torch.sin(xb), torch.cos(xb)], dim=-1)
    if max((len(f) for f in freqs), default=0) == 0:
        return x
    key = freqs if isinstance(freqs, tuple) else tuple(tuple(tuple(p) for p in f) for f in freqs)  # hashable
    w, signs, keep = _pe_tables(key, x.dtype, x.device)
    xb = (x[..., None, :] * w).flatten(-2)
    xb = xb if keep is None else xb[..., keep]  # None: every axis has every row (no column to drop)
    return torch.cat([x, torch.sin(xb) * signs, torch.cos(xb) * signs], dim=-1)


def encode_inputs(spec: NetworkSpec, coords: torch.Tensor) -> torch.Tensor:
    """The network's input features of raw coordinates (its positional encoding, if any)."""
    return positional_encoding(coords, _pe_frequencies(spec) if spec.pe_grid else spec.pe_freqs)


def feature_axes(spec: NetworkSpec) -> list[int]:
    """The input axis each column of ``encode_inputs`` depends on, in column order: the raw coordinates, then
    the sines and the cosines, each frequency-major (``positional_encoding``'s layout)."""
    d = spec.in_features
    if spec.pe_freqs == 0:
        return list(range(d))
    per_axis = [len(f) for f in _pe_frequencies(spec)] if spec.pe_grid else [spec.pe_freqs] * d
    block = [a for k in range(max(per_axis, default=0)) for a in range(d) if k < per_axis[a]]
    return list(range(d)) + block + block


def linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``h W^T + b`` for one model (w: (out, in)) or K stacked models (w: (K, out, in), h: (K, N, in) or a
    shared (N, in))."""
    if w.dim() == 2:
        return F.linear(h, w, b)
    if h.dim() == 2:
        h = h.expand(w.shape[0], *h.shape)
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def forward(spec: NetworkSpec, layers: Layers, coords: torch.Tensor) -> torch.Tensor:
    """Evaluate the network: coords (N, in_features) -> (N, out_features), or (K, N, out_features) for
    K models' stacked layers (``stack_layers``). The last layer is linear."""
    act = ACTIVATIONS[spec.activation].fn
    h = encode_inputs(spec, coords)
    for w, b in layers[:-1]:
        h = act(linear(h, w, b), spec.omega)
    w, b = layers[-1]
    return linear(h, w, b)


@torch.no_grad()
def infer(spec: NetworkSpec, layers: Layers, coords: torch.Tensor) -> torch.Tensor:
    """``forward`` for decoding: the same operations in the same order, so the same bits, but sine layers
    work in place (``z.mul_(omega).sin_()`` is ``sin(omega * z)``), which saves two passes over the
    activations per layer; no autograd."""
    return infer_features(spec, layers, encode_inputs(spec, coords))


@torch.no_grad()
def infer_features(spec: NetworkSpec, layers: Layers, h: torch.Tensor, scratch: Scratch | None = None) -> torch.Tensor:
    """``infer`` from already encoded inputs (``encode_inputs``). With ``scratch``, a sine network's hidden layers
    write into its two reused buffers in turn (``addmm(out=)``: the same operation, so the same bits)."""
    act = ACTIVATIONS[spec.activation].fn
    for k, (w, b) in enumerate(layers[:-1]):
        if scratch is not None and spec.activation == "sine" and w.dim() == 2:
            z = torch.addmm(b, h, w.t(), out=scratch.take(k % 2, h, w.shape[0]))
        else:
            z = linear(h, w, b)
        h = z.mul_(spec.omega).sin_() if spec.activation == "sine" else act(z, spec.omega)
    w, b = layers[-1]
    return linear(h, w, b)


class Scratch(threading.local):
    """Two activation buffers per thread, reused from chunk to chunk of one render: a layer's output lands in memory
    the cache still holds instead of a fresh allocation (8-11% off a 768x512 decode on two threads, 11-17% on one,
    less where the process's malloc already reuses its large blocks: ``decode_speed.py --scratch-ab``). A renderer holds one for
    its lifetime; the buffers go with it."""

    def __init__(self) -> None:
        self.buffers: dict[int, torch.Tensor] = {}

    def take(self, parity: int, like: torch.Tensor, width: int) -> torch.Tensor:
        """A (rows of ``like``, ``width``) buffer of ``like``'s dtype and device (grown when a chunk is larger)."""
        n, buf = like.shape[0], self.buffers.get(parity)
        if buf is None or buf.shape[0] < n or buf.shape[1] != width or buf.dtype != like.dtype or buf.device != like.device:
            buf = self.buffers[parity] = torch.empty(n, width, dtype=like.dtype, device=like.device)
        return buf[:n]


@dataclass(frozen=True, eq=False)
class NetworkField:
    """A network as a function of raw coordinates, for decoding (``infer``). ``on_grid`` serves renderers of
    grids: the positional encoding treats each coordinate on its own, so on a grid it is tabulated once per axis
    and gathered per sample (``on_grid``) or broadcast over a run of consecutive samples (``on_grid_span``, what
    the renderers use) instead of a sine and a cosine per sample and feature (11-18% off the renders of ``--bpp``'s
    networks, 17% off a 128^3 occupancy grid: docs/benchmarks.md). The table entries come from the same elementwise
    operations on the same values, so the decoded bits do not change (the golden files)."""

    spec: NetworkSpec
    layers: Layers

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        return infer(self.spec, self.layers, coords)

    def to(self, device: torch.device | str) -> NetworkField:
        """The same network on ``device`` (the CPU copy is the reference of a GPU decode: signals/canonical.py)."""
        return NetworkField(self.spec, [(w.to(device), b.to(device)) for w, b in self.layers])

    def on_grid(self, axes: Sequence[torch.Tensor]) -> Callable[[Sequence[torch.Tensor]], torch.Tensor]:
        """``f(idx)``: the network at the grid points ``(axes[0][idx[0]], axes[1][idx[1]], ...)``."""
        if len(axes) != self.spec.in_features:
            return lambda idx: self(torch.stack([a[i] for a, i in zip(axes, idx)], dim=1))
        tables, scratch = axis_tables(self.spec, axes), Scratch()

        def evaluate(idx: Sequence[torch.Tensor]) -> torch.Tensor:
            # index_select, not t[i]: advanced indexing made the gathers slower than the sines they replace
            features = tables[0].index_select(0, idx[0])
            for t, i in zip(tables[1:], idx[1:]):
                features.add_(t.index_select(0, i))
            return infer_features(self.spec, self.layers, features, scratch)
        return evaluate

    def on_grid_span(self, axes: Sequence[torch.Tensor], major: Sequence[int]) -> Callable[[int, int], torch.Tensor]:
        """``f(start, stop)``: the network at flat indices ``start .. stop`` of the grid whose axis ``major[0]``
        varies slowest and ``major[-1]`` fastest (an image's rows: ``major = (1, 0)``). Why: a renderer's chunk is a
        run of consecutive points, whose features are one broadcast sum of the fastest axis' table and a few
        gathered rows of the others, several times cheaper than gathering every point's (17% off a 128^3
        occupancy grid's render, up to 7% off an image's: docs/benchmarks.md)."""
        if len(axes) != self.spec.in_features:
            raise ValueError(f"{len(axes)} grid axes for a network of {self.spec.in_features} inputs")
        tables, scratch = axis_tables(self.spec, axes), Scratch()
        inner, outer = tables[major[-1]], [tables[a] for a in major[:-1]]
        n = inner.shape[0]

        def span(start: int, stop: int) -> torch.Tensor:
            first, last = start // n, (stop - 1) // n + 1
            rows = _outer_features(outer, torch.arange(first, last, device=inner.device))
            block = inner.unsqueeze(0) if rows is None else rows.unsqueeze(1) + inner.unsqueeze(0)
            # a copy, not a view into the block: MKL rounds a product of a few rows differently (other bits) when its
            # input starts off the alignment of a fresh allocation (tests/test_grid_encoding.py caught it)
            features = block.reshape(-1, inner.shape[1])[start - first * n: stop - first * n].clone()
            return infer_features(self.spec, self.layers, features, scratch)
        return span


def axis_tables(spec: NetworkSpec, axes: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Per grid axis, the encoder's columns (``encode_inputs``) at that axis' values, with 0 in every column another
    axis feeds: a grid point's features are the sum of its axes' rows, exactly (each column gets one value, plus
    zeros), from the same elementwise operations on the same values, so the decoded bits do not change."""
    cols = torch.tensor(feature_axes(spec), device=axes[0].device)
    tables = []
    for a, values in enumerate(axes):
        coords = torch.zeros(values.shape[0], len(axes), dtype=values.dtype, device=values.device)
        coords[:, a] = values  # the other axes' values do not reach this axis' columns
        tables.append(encode_inputs(spec, coords).masked_fill_(cols != a, 0.0))
    return tables


def _outer_features(tables: Sequence[torch.Tensor], flat: torch.Tensor) -> torch.Tensor | None:
    """The summed rows of ``tables`` (slowest axis first) at flat C-order indices over their lengths; None for none."""
    features = None
    for t in reversed(tables):
        row = t.index_select(0, flat % t.shape[0])
        features = row if features is None else row.add_(features)
        flat = flat // t.shape[0]
    return features


def stack_layers(per_model: list[Layers]) -> Layers:
    """K models' layers -> one list of (W (K, out, in), b (K, out)); differentiable (torch.stack)."""
    return [(torch.stack([m[k][0] for m in per_model]), torch.stack([m[k][1] for m in per_model]))
            for k in range(len(per_model[0]))]
