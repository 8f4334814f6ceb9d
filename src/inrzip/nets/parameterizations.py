"""How a network's weights are produced from the tensors we train and store.

- ``mlp``: every weight and bias is trained and stored (COIN-style).
- ``doh``: D'OH (Gordon et al. 2024). Each layer's flattened weights are ``W_l = B_l z``: one trained
  latent ``z`` (dimension n) shared by all layers, and fixed random ``B_l`` regenerated from an
  integer seed, so only ``z`` (plus the biases, which are stored directly) goes into the file.

The latent ratio counts ``n / (weights of the target network)``, biases excluded, with the network's
actual input width (PE included). The paper's "DOH 30/60/100%" labels are total stored parameters
relative to MLP(9x40) without PE; they correspond to ratios 0.25 / 0.5 / 0.8585 (docs/format.md).
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import FormatError, InrzipError, shown
from ..registry import Registry
from . import rng
from .inits import residual_base, residual_entry, residual_seed
from .networks import Layers, NetworkSpec, init_bounds, layer_shapes, weight_count

__all__ = ["Parameterization", "PARAMETERIZATIONS", "make_parameterization", "parameterization_class", "MLP", "DOH",
           "doh_b_bounds", "latent_size", "materialize", "DOH_INITS", "b_rows", "tree_dot", "doh_weights", "use_fused",
           "FUSED_AFTER_WORK"]

_MAX_LATENT = 1 << 24
_B_CHUNK = 1 << 16  # entries of B generated at once when decoding: 512 KB of float64, within a core's cache


class Parameterization(nn.Module, ABC):
    """Trainable tensors -> network layers. ``stored()`` lists, in file order, what is quantized and saved."""

    name: ClassVar[str]
    default_pe: ClassVar[bool] = False  # positional encoding when the user does not say (images)
    final_lr_fraction: ClassVar[float] = 0.999 ** 300  # LR at the end of a run / at its start (docs/fitting.md)
    default_betas: ClassVar[tuple[float, float]] = (0.99, 0.999)  # Adam's, D'OH supplement Table 1
    default_warmup_epochs: ClassVar[int] = 0  # linear learning-rate warm-up (epochs actually run)
    has_latent: ClassVar[bool] = False  # stores a latent whose size is free (the fine rate knob of ``--bpp``)
    # Per optimizer name, defaults that replace the ones above (lr, betas, warmup_epochs, final_lr_fraction)
    optimizer_defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.spec = spec
        self.res_header: dict[str, Any] = {}  # how a decoder finds the init the stored tensors are offsets from

    def offset_from(self, base: dict[str, torch.Tensor], res_header: dict[str, Any]) -> None:
        """From now on the trained (and stored) tensors are offsets from ``base`` (a shipped init, or the seeded
        random one), which ``res_header`` names in the file; the network is unchanged (``nets.inits``)."""
        with torch.no_grad():
            for key, t in self.stored().items():
                self.register_buffer(f"base_{key}", base[key].to(t.device, t.dtype).clone(), persistent=False)
                t.sub_(getattr(self, f"base_{key}"))
        self.res_header = dict(res_header)

    def with_base(self, stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors ``stored`` stands for: itself, or the init plus the offsets (float32 adds, as decoders do)."""
        return {k: v + getattr(self, f"base_{k}") for k, v in stored.items()} if self.res_header else stored

    def layers(self) -> Layers:
        """The network's (W, b) per layer, differentiable w.r.t. the trained tensors."""
        return self.layers_from(self.stored())

    @abstractmethod
    def layers_from(self, stored: dict[str, torch.Tensor]) -> Layers:
        """Layers from (possibly fake-quantized, for QAT) stored tensors, same names as ``stored()``."""

    @abstractmethod
    def stored(self) -> dict[str, torch.Tensor]:
        """Name -> tensor of everything the file stores, in file order."""

    def header(self) -> dict[str, Any]:
        """Extra header fields (seed, latent size...) needed to rebuild the layers."""
        return {}

    @abstractmethod
    def default_lr(self, kind_lrs: dict[str, float]) -> float:
        """Learning rate when the user gives none; ``kind_lrs`` is the signal kind's ``default_lrs``."""

    def default_optimizer(self, kind_optimizers: dict[str, str]) -> str | None:
        """Optimizer when the user gives none; ``kind_optimizers`` is the signal kind's ``default_optimizers``."""
        return kind_optimizers.get(self.name)

    @classmethod
    def generator_work(cls, spec: NetworkSpec, header: dict[str, Any]) -> int:
        """Entries of random matrices the decoder regenerates for this file (checked against the limits)."""
        return 0

    @classmethod
    @abstractmethod
    def stored_shapes(cls, spec: NetworkSpec, header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        """Shapes the file must hold, from the header alone (validates hostile files before decoding)."""

    @classmethod
    @abstractmethod
    def build_layers(cls, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
        """Decoder side: deterministic float32 CPU layers from decoded tensors."""


PARAMETERIZATIONS: Registry[type[Parameterization]] = Registry("parameterization", FormatError)


def parameterization_class(name: str) -> type[Parameterization]:
    return PARAMETERIZATIONS.get(name)


def _uniform_(t: torch.Tensor, bound: float, gen: torch.Generator) -> torch.Tensor:
    with torch.no_grad():
        return t.uniform_(-bound, bound, generator=gen)


@PARAMETERIZATIONS.register()
class MLP(Parameterization):
    """Weights trained directly, SIREN reference init (biases: PyTorch's U(+-1/sqrt(fan_in)))."""

    name = "mlp"
    # Peak rate and decay over the planned run: 1e-3 falling to 0.05 of itself at the end of the run (by epochs
    # or by the time budget) beat 2e-4 / 0.74 on every crop and budget measured (docs/fitting.md, "Time to
    # quality"); a high rate without that decay is worse than the old default.
    base_lr: ClassVar[float] = 1e-3
    final_lr_fraction = 0.05
    default_betas = (0.9, 0.999)  # +0.3..+1.0 dB over (0.99, 0.999) at 150 epochs on 4 crops (docs/fitting.md)
    # One epoch of warm-up: at 1e-3 from the first step a 48-49-wide MLP with PE on kodim18 never left 16.3 dB
    # (the mean colour); with it 23.6 dB after 15 epochs, and +0.12 / +0.26 dB on kodim03 / kodim23 (docs/fitting.md)
    default_warmup_epochs = 1

    def __init__(self, spec: NetworkSpec, seed: int = 0, **_: Any) -> None:
        super().__init__(spec)
        gen = torch.Generator().manual_seed(seed)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for (o, i), bound in zip(layer_shapes(spec), init_bounds(spec, "siren")):
            self.weights.append(nn.Parameter(_uniform_(torch.empty(o, i), bound, gen)))
            self.biases.append(nn.Parameter(_uniform_(torch.empty(o), 1 / math.sqrt(i), gen)))

    def layers_from(self, stored: dict[str, torch.Tensor]) -> Layers:
        full = self.with_base(stored)
        return [(full[f"w{k}"], full[f"b{k}"]) for k in range(len(self.weights))]

    def header(self) -> dict[str, Any]:
        return dict(self.res_header)

    # With the positional encoding, half the rate: at 1e-3 a 37x9 MLP + PE on kodim02 sat at the mean colour
    # (20.6 dB) for a whole 120 s fit, warm-up or not; at 5e-4 it learns, and kodim03 37x9 after 70 epochs is
    # level (31.46 vs 31.49 dB; docs/fitting.md "Warm-up").
    pe_lr: ClassVar[float] = 5e-4

    def default_lr(self, kind_lrs: dict[str, float]) -> float:
        return kind_lrs.get(self.name, self.pe_lr if self.spec.pe_freqs > 0 else self.base_lr)

    def stored(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[f"w{k}"], out[f"b{k}"] = w, b
        return out

    @classmethod
    def stored_shapes(cls, spec: NetworkSpec, header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        residual_seed(header)  # a residual file's init must be here, the one it was coded against
        residual_entry(header, spec)
        out: dict[str, tuple[int, ...]] = {}
        for k, (o, i) in enumerate(layer_shapes(spec)):
            out[f"w{k}"], out[f"b{k}"] = (o, i), (o,)
        return out

    @classmethod
    def build_layers(cls, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
        """The stored tensors, plus the init they are offsets from when the header names one (float32 adds,
        the training side's ``layers_from``)."""
        base = residual_base(header, spec)
        if base:
            tensors = {k: (v + base[k]).astype(np.float32) for k, v in tensors.items()}
        n = len(layer_shapes(spec))
        return [(torch.from_numpy(tensors[f"w{k}"]), torch.from_numpy(tensors[f"b{k}"])) for k in range(n)]


def doh_b_bounds(spec: NetworkSpec, latent: int, init: str = "doh") -> list[float]:
    """Bound a_l of U(+-a_l) for each B_l so that B_l z matches the target init (supplement eq. 9):
    with z ~ U(+-1/n), a_l = target_bound_l * sqrt(3 n)  (eqs. 13 and 16 for SIREN)."""
    return [b * math.sqrt(3.0 * latent) for b in init_bounds(spec, init)]


DOH_INITS = ("doh", "siren")  # target bounds of B_l z: the supplement's eq. 16, or the SIREN reference code's


def latent_size(spec: NetworkSpec, ratio: float | None = None, dim: int | None = None) -> int:
    """Latent dimension from an absolute ``dim`` or a ``ratio`` of the target weight count."""
    n = dim if dim is not None else int(round((ratio if ratio is not None else 0.6) * weight_count(spec)))
    if not 1 <= n <= _MAX_LATENT:
        raise InrzipError(f"latent size {n} out of range 1..{_MAX_LATENT}")
    return n


def b_rows(seed: int, layer: int, rows: slice, latent: int, bound: float) -> torch.Tensor:
    """Rows ``rows`` of B_layer (float64), drawn from the portable stream (seed, layer)."""
    count = rows.stop - rows.start
    return rng.symmetric_uniform_torch(seed, layer, (count, latent), bound, start=rows.start * latent)


def tree_dot(rows: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``rows @ z`` (float64) summed in one fixed order, not a BLAS kernel's, so every library and device gives
    the same bits: the products, zero-padded to a power of two, are summed by adding halves elementwise. (The
    first halving skips adding the padding's zeros, except where that turns -0.0 into +0.0, as it would.)"""
    p = rows * z
    n = p.shape[-1]
    if n == 1:
        return p[..., 0] + 0.0
    half = 1 << ((n - 1).bit_length() - 1)  # the first halving of the padded length 2 * half >= n
    out = np.empty(p.shape[:-1] + (half,), dtype=np.float64)
    np.add(p[..., :n - half], p[..., half:n], out=out[..., :n - half])
    np.add(p[..., n - half:half], 0.0, out=out[..., n - half:])
    while out.shape[-1] > 1:
        h = out.shape[-1] // 2
        out = out[..., :h] + out[..., h:]
    return out[..., 0]


def doh_weights(seed: int, layer: int, count: int, latent: int, bound: float, z: np.ndarray,
                workers: int = 1, fused: bool = True) -> np.ndarray:
    """W_layer = B_layer z (float32, ``count`` weights), ``workers`` threads sharing the rows. ``fused``: the
    compiled kernel of ``fused_bz`` (one pass per entry, 19x faster), else the NumPy reference it must equal bit
    for bit (B generated in cache-sized row blocks, never whole); the reference also serves where Numba is
    missing."""
    kernel = _fused_kernel() if fused else None
    parts_n = max(1, min(workers, count // 64))
    bounds = [count * k // parts_n for k in range(parts_n + 1)]  # one contiguous span of rows per thread

    def part(k: int) -> np.ndarray:
        lo, hi = bounds[k], bounds[k + 1]
        if kernel is not None:
            return kernel(seed, layer, lo, hi - lo, latent, bound, z)
        rows = max(1, _B_CHUNK // latent)  # the span in cache-sized blocks (one task per block cost 0.1 s a decode)
        return np.concatenate([_reference_rows(seed, layer, r, min(hi, r + rows), latent, bound, z)
                               for r in range(lo, hi, rows)])
    if parts_n > 1:
        with ThreadPoolExecutor(parts_n) as pool:
            parts = list(pool.map(part, range(parts_n)))
    else:
        parts = [part(0)]
    with np.errstate(over="ignore"):
        return np.concatenate(parts).astype(np.float32)


def _reference_rows(seed: int, layer: int, start: int, stop: int, latent: int, bound: float,
                    z: np.ndarray) -> np.ndarray:
    """Rows ``start .. stop`` of ``B_layer z`` by the NumPy reference: B's rows drawn, then ``tree_dot``."""
    with np.errstate(over="ignore", invalid="ignore"):  # a hostile latent overflows: the caller refuses it
        b = rng.symmetric_uniform(seed, layer, (stop - start, latent), bound, start=start * latent)
        return tree_dot(b, z)


def _fused_kernel(name: str = "doh_rows") -> Callable[..., np.ndarray] | None:
    """``fused_bz.<name>``, imported on first use, or None without Numba."""
    try:
        from . import fused_bz
    except ImportError:  # pragma: no cover - numba is a dependency; a platform without it decodes more slowly
        return None
    return getattr(fused_bz, name)


# Numba's import and the load of the cached kernel cost about 0.5-0.9 s once per process, what the reference
# spends on some 50 million entries of B (two threads). A process compiles-in the kernel only once its D'OH
# products add up to that, so a one-off CLI decode of a small file is not slowed and a long-lived one (a
# server, a benchmark, the --bpp candidate loop) runs 19x faster after it. docs/benchmarks.md, "Decoding".
FUSED_AFTER_WORK = 50_000_000
_reference_work = [0]


def use_fused(work: int) -> bool:
    """Whether a D'OH product of ``work`` entries of B should run in the compiled kernel (see above)."""
    if "inrzip.nets.fused_bz" in sys.modules:
        return True
    _reference_work[0] += work
    return _reference_work[0] >= FUSED_AFTER_WORK


# adam-weights against the latent on kodim03 at --bpp (120 s): +0.72 dB at latent / weights 0.54, -0.44 at 0.24
WEIGHTS_FROM_RATIO = 0.5


@PARAMETERIZATIONS.register()
class DOH(Parameterization):
    """Decoder-only random hypernetwork: trained latent z, fixed B_l from ``seed``, stored biases."""

    name = "doh"
    default_pe = True  # the D'OH paper's image networks use PE
    has_latent = True
    # Adam moves each z entry by about lr, and z ~ U(+-1/n), so the rate scales as 1/n (docs/fitting.md)
    base_lr_times_latent: ClassVar[float] = 0.1
    final_lr_fraction = 0.995 ** 300  # 20.35 dB against 19.77 at 0.999 ** 300 (docs/fitting.md)
    # Trained on its weights (nets/weight_space.py) it takes an MLP's schedule; 2e-3 collapsed (docs/fitting.md)
    optimizer_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "adam-weights": {"lr": 1e-3, "betas": (0.9, 0.999), "warmup_epochs": 1, "final_lr_fraction": 0.05,
                         "small_batch": (4096, 1 << 17)}}  # batch, up to samples: 256^2 crops gain (docs/fitting.md)

    def __init__(self, spec: NetworkSpec, seed: int = 0, latent_dim: int | None = None, latent_ratio: float = 0.6,
                 init: str = "doh", **_: Any) -> None:
        super().__init__(spec)
        if init not in DOH_INITS:
            raise InrzipError(f"unknown D'OH init {init!r}; choose from {list(DOH_INITS)}")
        self.seed, self.init = int(seed), init
        self.latent = latent_size(spec, latent_ratio, latent_dim)
        n = self.latent
        gen = torch.Generator().manual_seed(seed)
        self.z = nn.Parameter(_uniform_(torch.empty(n), 1.0 / n, gen))
        self.biases = nn.ParameterList(
            nn.Parameter(_uniform_(torch.empty(o), 1 / math.sqrt(i), gen)) for o, i in layer_shapes(spec))
        self.register_buffer("_B", None, persistent=False)  # generated on first use: a DOH is cheap to make

    @property
    def B(self) -> torch.Tensor:
        """The fixed matrices B_l stacked, (total weights, n) float32 on z's device, generated once."""
        if self._B is None:
            bounds, fused = doh_b_bounds(self.spec, self.latent, self.init), _fused_kernel("b_float32")
            blocks = [torch.from_numpy(fused(self.seed, k, o * i * self.latent, a)).view(o * i, self.latent)
                      if fused else b_rows(self.seed, k, slice(0, o * i), self.latent, a).float()
                      for k, ((o, i), a) in enumerate(zip(layer_shapes(self.spec), bounds))]  # the same bits
            self._B = torch.cat(blocks).to(self.z.device)
        return self._B

    def layers_from(self, stored: dict[str, torch.Tensor]) -> Layers:
        full = self.with_base(stored)
        flat = self.B @ full["z"]
        out, start = [], 0
        for k, (o, i) in enumerate(layer_shapes(self.spec)):
            out.append((flat[start:start + o * i].view(o, i), full[f"b{k}"]))
            start += o * i
        return out

    def stored(self) -> dict[str, torch.Tensor]:
        out = {"z": self.z}
        out.update({f"b{k}": b for k, b in enumerate(self.biases)})
        return out

    def header(self) -> dict[str, Any]:
        return {"seed": self.seed, "latent": self.latent, "doh_init": self.init, **self.res_header}

    def default_lr(self, kind_lrs: dict[str, float]) -> float:
        return kind_lrs.get(self.name, self.base_lr_times_latent) / self.latent

    def default_optimizer(self, kind_optimizers: dict[str, str]) -> str | None:
        """On its weights only with a latent of at least ``WEIGHTS_FROM_RATIO`` of the weights: a smaller latent
        keeps little of each weight-space step (measured: docs/fitting.md, "D'OH: Adam on the weights")."""
        name = kind_optimizers.get(self.name)
        small = self.latent < WEIGHTS_FROM_RATIO * weight_count(self.spec)
        return None if name == "adam-weights" and small else name

    @classmethod
    def generator_work(cls, spec: NetworkSpec, header: dict[str, Any]) -> int:
        return weight_count(spec) * int(header["latent"])

    @classmethod
    def stored_shapes(cls, spec: NetworkSpec, header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        n = header.get("latent")
        if not isinstance(n, int) or not 1 <= n <= _MAX_LATENT or not isinstance(header.get("seed"), int):
            raise FormatError("D'OH file lacks a valid latent size or seed")
        if header.get("doh_init", "doh") not in DOH_INITS:
            raise FormatError(f"unknown D'OH init {shown(header.get('doh_init'))}")
        residual_seed(header)  # a D'OH file's offsets, if any, are from its seeded init
        out: dict[str, tuple[int, ...]] = {"z": (n,)}
        out.update({f"b{k}": (o,) for k, (o, _) in enumerate(layer_shapes(spec))})
        return out

    @classmethod
    def build_layers(cls, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
        """W_l = B_l z in float64 (``doh_weights``): identical on every machine, bounded memory. With ``res_seed``
        the stored tensors are offsets: the seeded init is added first, in float32."""
        base = residual_base(header, spec, latent=tensors["z"].shape[0]) if "res_seed" in header else {}
        tensors = {k: (v + base[k]).astype(np.float32) for k, v in tensors.items()} if base else tensors
        z = tensors["z"].astype(np.float64)
        n, seed = z.shape[0], header["seed"]
        bounds = doh_b_bounds(spec, n, header.get("doh_init", "doh"))
        if not all(math.isfinite(a) for a in bounds):  # a hostile omega (e.g. 5e-324) makes B infinite
            raise FormatError("D'OH generator bounds overflow (the header's omega is absurd); the file is corrupt")
        workers, fused = torch.get_num_threads(), use_fused(weight_count(spec) * n)
        layers = []
        for k, ((o, i), a) in enumerate(zip(layer_shapes(spec), bounds)):
            w = doh_weights(seed, k, o * i, n, a, z, workers, fused)
            if not np.isfinite(w).all():  # inf after the cast to float32, or NaN
                raise FormatError(f"D'OH layer {k}: B z overflows float32 (a hostile latent); the file is corrupt")
            layers.append((torch.from_numpy(w.reshape(o, i)), torch.from_numpy(tensors[f"b{k}"])))
        return layers


def make_parameterization(name: str, spec: NetworkSpec, **kwargs: Any) -> Parameterization:
    return parameterization_class(name)(spec, **kwargs)


def materialize(name: str, spec: NetworkSpec, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Layers:
    """Decoder entry point: layers from (possibly dequantized) stored tensors."""
    return parameterization_class(name).build_layers(spec, header, tensors)
