"""The contract every signal kind (image, occupancy, radiance field, ...) fulfils.

A signal turns a source file into training pairs, turns a fitted network back into an output
(an image, a voxel grid, rendered views), and carries the few header fields needed to decode.
The trainer, the container and the CLI only talk to this interface, so a new kind touches
``signals/`` and one registry line, nothing else.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np
import torch

from ..errors import FormatError, InputError
from ..limits import WORK_FLOATS, Limits
from ..nets.networks import NetworkSpec, weight_count
from ..registry import Registry

__all__ = ["Field", "Signal", "SIGNALS", "signal_class", "load_signal", "check_network", "check_work", "batch_rows",
           "finite_outputs", "NON_FINITE", "run_chunks", "decode_bar", "render_workers", "PARALLEL_CHUNK", "torch_threads"]

# A field maps a batch of raw coordinates (B, in_features) to network outputs (B, out_features).
Field = Callable[[torch.Tensor], torch.Tensor]
# Header values: what the container can store for a signal (see container.py).
Meta = dict[str, Any]


class Signal(ABC):
    """One source signal. Subclasses set the class attributes and implement the abstract methods."""

    kind: ClassVar[str]  # registry name, stored in the file header
    in_features: ClassVar[int]  # raw coordinate dimension, before positional encoding
    # Defaults a kind may prefer when the user gives none (applied by ``api.resolve`` only):
    default_loss: ClassVar[str] = "mse"  # "mse" | "log10mse" | "bce"
    default_activation: ClassVar[str] = "sine"
    default_arch: ClassVar[str] = "28x9"  # WIDTHxHIDDEN
    default_parameterization: ClassVar[str] = "doh"
    default_pe: ClassVar[bool] = False  # positional encoding of a plain MLP (D'OH's own default wins for D'OH)
    encodes_inputs: ClassVar[bool] = False  # the signal encodes its own inputs (NeRF): no network PE
    fit_defaults: ClassVar[dict[str, Any]] = {}  # FitConfig fields, e.g. batch size, epochs, time budget
    default_lrs: ClassVar[dict[str, float]] = {}  # by parameterization: "mlp": lr; "doh": lr x latent size
    default_optimizers: ClassVar[dict[str, str]] = {}  # by parameterization; else "adam"
    optimizer_lrs: ClassVar[dict[str, float]] = {}  # by optimizer: the kind's rate for it, before the parameterization's
    default_doh_init: ClassVar[str] = "doh"  # D'OH B_l init target (docs/format.md)
    # Share of a fit kept back to train its stored tensors against its file's levels (api.encoding): a D'OH latent's
    # at a fixed depth or at --bpp, an MLP's weights at a fixed depth of 8 bits or fewer; 0 for a kind where that was
    # not measured
    depth_finetune: ClassVar[float] = 0.0
    # Parameterization -> the deepest fixed depth (bits) at which its files store offsets from their random init
    # regenerated from the seed (``--residual``) unless --init, --preset or --no-residual (api.core: an MLP only on
    # raw coordinates, D'OH not under --bpp); chosen per kind by measurement (docs/rate.md), empty where not measured
    seeded_residual: ClassVar[dict[str, int]] = {}
    # The 'nyquist' band keeps folded encoding frequencies under this fraction of the grid's Nyquist rate, chosen
    # per kind by measurement (docs/resolution.md): images 0.25, occupancy grids 0.5
    band_cap: ClassVar[float] = 0.5
    quality_metric: ClassVar[str] = "psnr"  # the key of ``evaluate`` that says how good a decode is
    networks: int = 1  # networks of one spec the signal is fitted with (NeRF's coarse + fine pair: 2)

    out_features: int  # network outputs per coordinate

    # ---- encoder side -------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def sniff(cls, path: Path) -> bool:
        """True if ``path`` looks like a source of this kind (by suffix or layout), cheap."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path, **options: Any) -> "Signal":
        """Read a source; raise ``InputError`` with a one-line reason on anything bad."""

    @abstractmethod
    def num_samples(self) -> int:
        """Training samples per epoch (pixels, grid points, rays): an epoch is one full pass."""

    @abstractmethod
    def batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of shuffled ``(inputs, targets)`` batches on ``device``."""

    def encoded_batches(self, batch_size: int, generator: torch.Generator, device: torch.device,
                        encode: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``batches`` with the inputs mapped row by row by ``encode`` (the network's input encoding), the same
        batches in the same order. Here the map runs per batch; a signal whose inputs are one fixed table (an
        image's pixel grid) maps the table once and gathers its rows instead."""
        for inputs, targets in self.batches(batch_size, generator, device):
            yield encode(inputs), targets

    def predict(self, field: Field, inputs: torch.Tensor) -> torch.Tensor:
        """Predictions comparable with targets; identity for direct fields, volume rendering for NeRF."""
        return field(inputs)

    @classmethod
    def predicts_field(cls) -> bool:
        """True when predictions are the field's outputs themselves, so K stacked models can be evaluated
        in one batched pass (NeRF renders each model's rays on its own)."""
        return cls.predict is Signal.predict

    def sample_grid(self) -> tuple[int, ...] | None:
        """Samples per input axis when the signal is a regular grid on [-1, 1] (what band-limits its positional
        encoding), else None."""
        return None

    def rate_report(self, file_bytes: int, estimated_bytes: float) -> dict[str, float]:
        """Rates in the kind's own unit (images: bits per pixel); nothing for kinds without one."""
        return {}

    def raw_bytes(self) -> int | None:
        """The source's samples stored plainly (images: pixels x channels x bytes per value), the size a
        compressed file must beat to be worth having; None for kinds without such a size."""
        return None

    @classmethod
    def header_rate(cls, meta: Meta, file_bytes: int) -> dict[str, float]:
        """The rate a file of ``file_bytes`` hit, from its header alone (``inrzip info``); nothing for kinds
        without a rate unit."""
        return {}

    @abstractmethod
    def meta(self) -> Meta:
        """Header fields the decoder needs (shape, normalisation, camera...), small scalars only."""

    @abstractmethod
    def evaluate(self, field: Field, device: torch.device | str = "cpu") -> dict[str, float]:
        """Quality of ``field`` (whose weights live on ``device``) against this source (e.g. PSNR/SSIM
        or IoU), as the user sees it."""

    # ---- decoder side -------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def validate_meta(cls, meta: Meta, limits: Limits) -> None:
        """Raise ``FormatError`` if header fields are missing, inconsistent or exceed ``limits``."""

    @classmethod
    @abstractmethod
    def reconstruct(cls, meta: Meta, field: Field, limits: Limits, **options: Any) -> Any:
        """Render the decoded output (array, grid, views) from the field, within ``limits``; options such
        as scale. Options another kind uses are ignored."""

    # Output formats ``save`` writes (by suffix), the first being the default where no suffix says (stdout)
    formats: ClassVar[tuple[str, ...]] = ()
    # Options of ``reconstruct`` a user sets when decoding (the CLI refuses the others for this kind)
    decode_options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @abstractmethod
    def save(cls, output: Any, path: Path, meta: Meta) -> None:
        """Write a reconstruction to ``path`` in a format chosen by its suffix."""

    @classmethod
    def check_format(cls, meta: Meta, fmt: str) -> str | None:
        """Refuse, before anything is decoded, a format (one of ``formats``) that cannot hold this file's output
        (an image's alpha channel in a JPEG): the user learns it in a second, not after the decode. Returns a note
        for the user where the format changes the output (fewer bits), else None."""
        return None


SIGNALS: Registry[type[Signal]] = Registry("signal kind", FormatError)


def _spec(meta: Meta) -> NetworkSpec | None:
    """The network a validated header describes (its shape fields only); None for a signal's own fields (the
    encoder scoring the network it has just fitted)."""
    if not all(k in meta for k in ("in", "out", "width", "hidden", "pe")):
        return None
    return NetworkSpec(meta["in"], meta["out"], meta["width"], meta["hidden"], pe_freqs=meta["pe"])


def check_network(meta: Meta, in_features: int, out_features: int) -> None:
    """A file's network must take this kind's coordinates and give its outputs, or rendering would fail.
    (A signal's own fields, without the network's, have nothing to check.)"""
    if "in" not in meta and "out" not in meta:
        return
    if meta.get("in") != in_features or meta.get("out") != out_features:
        raise FormatError(f"{meta.get('kind')} header: the network maps {meta.get('in')} inputs to {meta.get('out')} "
                          f"outputs, this kind needs {in_features} to {out_features}; the file is corrupt")


def check_work(meta: Meta, queries: int, limits: Limits, lower: str) -> None:
    """Refuse, before rendering, a decode whose network evaluations exceed ``limits.max_macs``."""
    spec = _spec(meta)
    macs = 0 if spec is None else queries * weight_count(spec)
    if macs > limits.max_macs:
        raise FormatError(f"decoding needs {macs:.3g} network multiply-adds ({queries} queries), over the limit of "
                          f"{limits.max_macs:.3g}; {lower} or {limits.hint('max_macs')}")


def batch_rows(meta: Meta, default: int, per_row: int = 1) -> int:
    """Rows per forward pass: ``default``, fewer for wide networks, so that a batch's widest activation stays
    within ``WORK_FLOATS`` whatever width a file claims (``per_row`` network queries per row: NeRF samples)."""
    spec = _spec(meta)
    if spec is None:
        return default
    widest = max(spec.encoded_features, spec.width, spec.out_features) * per_row
    return max(1, min(default, WORK_FLOATS // widest))


# Rows per forward pass when the chunks are spread over cores: a 28-wide chunk of 8192 rows (0.9 MB of activations)
# stays in a core's L2; the best of 2048-16384 for 28- to 96-wide networks (`benchmarks/decode_speed.py --ab N
# --chunks 2048,4096,8192,16384`, docs/benchmarks.md "Rendering spread over the cores").
PARALLEL_CHUNK = 1 << 13


def render_workers(device: torch.device | str) -> int:
    """Workers for ``run_chunks``: torch's thread count on the CPU (one single-threaded worker per core), else 1."""
    return torch.get_num_threads() if torch.device(device).type == "cpu" else 1


_THREADS_LOCK = threading.Lock()  # one parallel render at a time sets torch's (process-wide) thread count


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` for a block, the previous one back after (errors, Ctrl-C too)."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run_chunks(work: Callable[[int], None], starts: Sequence[int], workers: int, progress: bool = False) -> None:
    """``work(s)`` for every chunk start, each writing its own slice of the output. With ``workers`` > 1 the chunks
    run on that many threads, each with single-threaded torch ops (restored after): an op on a chunk that fits a
    core's cache scales across cores better than one op split by torch over the threads (768x512 decodes 15-20%
    faster on two cores: docs/benchmarks.md), and every chunk's values are those of a serial run, since each element's arithmetic is the
    same. The first error cancels the chunks not yet started and is raised. Parallel renders from
    several threads take turns (each already uses every core), so the thread count they set and restore cannot interleave.
    ``progress``: a bar of the chunks done, shown once the work has taken a second (a large decode)."""
    with decode_bar(len(starts), progress) as bar:
        def step(s: int) -> None:
            work(s)
            bar.update(1)
        _run(step, starts, min(workers, len(starts)))


def decode_bar(total: int, progress: bool) -> Any:
    """A progress bar of ``total`` chunks on standard error that appears only after a second (small decodes stay
    quiet) and goes when done; a disabled one when ``progress`` is off."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="decoding", unit="chunk", leave=False, delay=1.0, disable=not progress)


def _run(work: Callable[[int], None], starts: Sequence[int], workers: int) -> None:
    if workers <= 1:
        for s in starts:
            work(s)
        return
    with _THREADS_LOCK, torch_threads(1), ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(work, s) for s in starts]
        try:
            for f in futures:
                f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


NON_FINITE = "the decoded network gives non-finite outputs (NaN or infinity); the file is corrupt"


def finite_outputs(values: np.ndarray) -> np.ndarray:
    """Network outputs must be finite: a hostile file with huge weights overflows to inf/NaN, which would
    reach a writer as undefined pixels."""
    if not np.isfinite(values).all():
        raise FormatError(NON_FINITE)
    return values


def signal_class(kind: str) -> type[Signal]:
    return SIGNALS.get(kind, " — upgrade inrzip")


def load_signal(path: str | Path, kind: str | None = None, **options: Any) -> Signal:
    """Load a source, choosing the kind by ``kind`` or by sniffing the path."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if kind is not None:
        return signal_class(kind).load(path, **options)
    for cls in SIGNALS.values():
        if cls.sniff(path):
            return cls.load(path, **options)
    raise InputError(f"{path}: not a supported source (image, mesh or NeRF scene folder)")
