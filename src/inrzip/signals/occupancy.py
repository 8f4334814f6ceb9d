"""Binary occupancy fields (D'OH Table 2): a mesh becomes a boolean N^3 grid the network fits.

The mesh is normalised into [-1, 1]^3 (``meshio.Normalisation``: bounding box centred, longest
half-extent at 1 - margin); ground truth is |generalized winding number| >= 0.5 at the grid points
``linspace(-1, 1, N)`` per axis, so meshes with holes still work. The network predicts 1 inside and
0 outside (MSE as in the paper, BCE as an option); decoded occupancy is output >= 0.5, at any
resolution, rendered in slabs so 512^3 fits in memory. The header keeps the normalisation, so the
decoded mesh comes back in the source's own frame and units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
import torch

from ..errors import FormatError, InputError, shown
from ..limits import DEFAULT_LIMITS, Limits
from ..metrics import iou
from . import meshio
from .base import NON_FINITE, SIGNALS, Field, Meta, Signal, batch_rows, check_network, check_work, decode_bar
from .canonical import MARGIN, correct, draft, reference_field

__all__ = ["OccupancySignal", "DEFAULT_RESOLUTION", "MAX_RESOLUTION", "grid_coords", "render_occupancy",
           "check_resolution", "OUTPUT_WRITERS"]

DEFAULT_RESOLUTION = 128  # the paper uses 512; 128 keeps CPU fits to minutes
MAX_RESOLUTION = DEFAULT_LIMITS.max_resolution  # refuse larger grids (1024^3 = 1 GB of booleans): --max-resolution
MIN_RESOLUTION = 8
THRESHOLD = 0.5  # network output >= 0.5 means "inside"
_RENDER_CHUNK = 1 << 18  # grid points per forward pass when rendering (fewer for wide networks)
_MAX_COORD = 1e15  # |centre| and scale of a mesh's frame: beyond, decoded vertices would overflow


def check_resolution(n: Any, force: bool = False, limit: int = MAX_RESOLUTION) -> int:
    """A grid side the user asked for, as an int; absurd values are a one-line ``InputError``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_RESOLUTION:
        raise InputError(f"resolution {n!r} is invalid; give an integer grid side >= {MIN_RESOLUTION}, e.g. 128")
    if n > limit and not force:
        raise InputError(f"resolution {n} is over the cap of {limit} ({n}^3 grid points); "
                         f"lower --resolution or {Limits.hint('max_resolution')} if you have the memory")
    return int(n)


def grid_coords(flat: torch.Tensor, n: int) -> torch.Tensor:
    """Flat C-order indices (B,) of an n^3 grid -> points (B, 3) in [-1, 1]^3; same float32
    arithmetic as ``meshio.index_to_coords``, so training, ground truth and decoding agree."""
    flat = flat.long()
    ijk = torch.stack([flat // (n * n), (flat // n) % n, flat % n], dim=-1)
    return ijk.float() * torch.tensor(2.0 / (n - 1), dtype=torch.float32) - 1.0


@torch.no_grad()
def render_occupancy(field: Field, n: int, device: torch.device | str = "cpu", chunk: int = _RENDER_CHUNK,
                     progress: bool = False) -> np.ndarray:
    """Boolean (n, n, n) grid of ``field >= 0.5``, evaluated ``chunk`` points at a time (bounded memory);
    non-finite outputs (a hostile file) are refused rather than thresholded. ``progress``: a bar (``decode_bar``)."""
    out = np.empty(n ** 3, dtype=bool)
    reference = reference_field(field, device)
    if reference is not None:  # on a GPU: the device's values, the CPU's near the threshold (canonical.py)
        at = _canonical(_on_grid(field, n, device), _on_grid(reference, n, "cpu"), n ** 3, chunk, device)
        span = _points(at, "cpu")
    else:
        span = _span(field, n, device)
    starts = range(0, n ** 3, chunk)
    with decode_bar(len(starts), progress) as bar:
        for s in starts:
            values = span(s, min(n ** 3, s + chunk))[:, 0]
            if not bool(torch.isfinite(values).all()):
                raise FormatError(NON_FINITE)
            out[s:s + values.numel()] = (values >= THRESHOLD).cpu().numpy()
            bar.update(1)
    return out.reshape(n, n, n)


def _canonical(at: Callable[[torch.Tensor], torch.Tensor], reference: Callable[[torch.Tensor], torch.Tensor],
               count: int, chunk: int, device: torch.device | str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``at`` over a CPU table of the grid's values: the device's, except within ``MARGIN`` of the threshold (or
    not finite), where ``reference`` (the CPU) recomputes them, so the grid is the CPU decode's."""
    table = draft(at, count, 1, chunk, device)
    flagged = torch.empty(count, dtype=torch.bool)
    for s in range(0, count, chunk):  # a chunk at a time: no float temporary the size of the grid
        v = table[s:s + chunk, 0]
        flagged[s:s + chunk] = ((v - THRESHOLD).abs() < MARGIN) | ~torch.isfinite(v)
    correct(table, flagged, lambda rows: reference(rows)[:, :1])
    return lambda flat: table[flat]


def _on_grid(field: Field, n: int, device: torch.device | str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``at(flat)``: the field at flat grid indices. A field that knows grids (a network with a positional
    encoding: ``nets.NetworkField.on_grid``) encodes each axis once, from the values ``grid_coords`` gives."""
    on_grid = getattr(field, "on_grid", None)
    if on_grid is None:
        return lambda flat: field(grid_coords(flat.cpu(), n).to(flat.device))
    axis = grid_coords(torch.arange(n), n)[:, 2].to(device)  # CPU arithmetic on every device (canonical.py)
    evaluate = on_grid([axis, axis, axis])
    return lambda flat: evaluate([flat // (n * n), (flat // n) % n, flat % n])


def _span(field: Field, n: int, device: torch.device | str) -> Callable[[int, int], torch.Tensor]:
    """``f(start, stop)``: the field at the grid's flat points ``start .. stop``. A field that renders runs of a
    grid (``nets.NetworkField.on_grid_span``) builds a run's features by one broadcast; else point by point."""
    on_span = getattr(field, "on_grid_span", None)
    if on_span is None:
        return _points(_on_grid(field, n, device), device)
    axis = grid_coords(torch.arange(n), n)[:, 2].to(device)  # CPU arithmetic on every device, as _on_grid
    return on_span([axis, axis, axis], major=(0, 1, 2))


def _points(at: Callable[[torch.Tensor], torch.Tensor], device: torch.device | str) -> Callable[[int, int], torch.Tensor]:
    """``at`` (flat indices) as ``f(start, stop)``."""
    return lambda start, stop: at(torch.arange(start, stop, device=device))


def _save_npy(grid: np.ndarray, path: Path, meta: Meta) -> None:
    np.save(path, grid.astype(bool), allow_pickle=False)


def _save_mesh(grid: np.ndarray, path: Path, meta: Meta) -> None:
    meshio.export_mesh(meshio.grid_to_mesh(grid, _normalisation(meta)), path)


# Output suffix -> writer of a boolean grid; a new format is one line here.
OUTPUT_WRITERS: dict[str, Callable[[np.ndarray, Path, Meta], None]] = {
    ".npy": _save_npy, **{s: _save_mesh for s in meshio.MESH_SUFFIXES},
}


def _normalisation(meta: Meta) -> meshio.Normalisation:
    return meshio.Normalisation(tuple(float(c) for c in meta["center"]), float(meta["scale"]))


@SIGNALS.register()
class OccupancySignal(Signal):
    """A solid shape as a boolean grid; the network predicts 1 inside, 0 outside at (x, y, z)."""

    kind = "occupancy"
    in_features = 3
    out_features = 1
    default_loss = "mse"
    default_activation = "sine"
    # D'OH Table 1 (batch 20000, 250 epochs, decay 0.999), capped at 10 minutes of fitting: 250 epochs of a
    # 128^3 grid take hours on a CPU. D'OH uses the reference-code init and a rate scaled with the latent,
    # 3e-6 at 4240 (the settings of the Table 2 run, docs/occupancy.md); the MLP the paper's 1e-4.
    fit_defaults: ClassVar[dict[str, Any]] = {"batch_size": 20000, "epochs": 250, "final_lr_fraction": 0.999 ** 250,
                                              "time_budget": 600.0}  # Table 1's 0.999 per epoch over its 250
    default_lrs: ClassVar[dict[str, float]] = {"mlp": 1e-4, "doh": 3e-6 * 4240}  # "doh": with --optimizer adam
    # D'OH trained on its weights (latent >= half of them), at the MLP's rate: IoU +0.013 on both Table 2 meshes at
    # 180 s, 0.9581 / 0.9043 against 0.9453 / 0.8910 on the latent; 3e-4 was worse (docs/occupancy.md)
    default_optimizers: ClassVar[dict[str, str]] = {"doh": "adam-weights"}
    optimizer_lrs: ClassVar[dict[str, float]] = {"adam-weights": 1e-4}
    default_doh_init: ClassVar[str] = "siren"
    # Offsets from the seeded init (docs/occupancy.md): D'OH's latent and biases, IoU +0.008..+0.031 at 6 bits and
    # +0.001..+0.003 at 8 (the default) at 1.5-4.3% fewer bytes on four meshes; an MLP's weights (raw coordinates,
    # the mesh MLP's default) +0.014..+0.021 at 8 bits at 5.6-9.6% fewer bytes on four
    seeded_residual: ClassVar[dict[str, int]] = {"doh": 8, "mlp": 8}
    quality_metric: ClassVar[str] = "iou"

    def __init__(self, grid: np.ndarray, norm: meshio.Normalisation, margin: float = meshio.DEFAULT_MARGIN) -> None:
        if grid.ndim != 3 or len(set(grid.shape)) != 1:
            raise InputError(f"occupancy grid must be a cube, got shape {grid.shape}")
        self.grid, self.norm, self.margin = grid.astype(bool, copy=False), norm, float(margin)
        self.n = grid.shape[0]
        self._targets: dict[str, torch.Tensor] = {}

    # ---- encoder side -------------------------------------------------------------------
    @classmethod
    def sniff(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in meshio.MESH_SUFFIXES

    @classmethod
    def load(cls, path: Path, resolution: int | None = None, margin: float = meshio.DEFAULT_MARGIN,
             force: bool = False, cache: bool = True, progress: bool = False, limits: Limits = DEFAULT_LIMITS,
             **_: Any) -> "OccupancySignal":
        """Mesh file -> ground-truth grid (cached on disk; see ``meshio.cache_dir``)."""
        n = check_resolution(DEFAULT_RESOLUTION if resolution is None else resolution, force, limits.max_resolution)
        if not (isinstance(margin, (int, float)) and 0.0 <= margin < 0.5):
            raise InputError(f"margin {margin!r} out of range; use a fraction in [0, 0.5), e.g. 0.05")
        mesh = meshio.load_mesh(path, limits.max_mesh_bytes)
        norm = meshio.Normalisation.fit(mesh.vertices, margin)
        grid = meshio.occupancy_grid(mesh, n, norm, margin, cache=cache, progress=progress)
        if not grid.any():
            raise InputError(f"{path}: mesh encloses no volume at resolution {n} (an open sheet or too thin); "
                             "occupancy needs a closed surface, or try a higher --resolution")
        return cls(grid, norm, margin)

    def num_samples(self) -> int:
        return self.n ** 3

    def sample_grid(self) -> tuple[int, ...]:
        return (self.n,) * 3

    def _flat_targets(self, device: torch.device) -> torch.Tensor:
        key = str(device)
        if key not in self._targets:  # n^3 bytes per device, coordinates are computed per batch
            self._targets[key] = torch.from_numpy(self.grid.reshape(-1)).to(device)
        return self._targets[key]

    def batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled grid points and their {0, 1} targets; an epoch visits every point once."""
        targets, total = self._flat_targets(device), self.n ** 3
        perm = torch.randperm(total, generator=generator, dtype=torch.int32 if total < 2 ** 31 else torch.int64)
        for s in range(0, total, batch_size):
            idx = perm[s:s + batch_size].to(device).long()
            yield grid_coords(idx, self.n), targets[idx].float().unsqueeze(1)

    def meta(self) -> Meta:
        return {"resolution": self.n, "center": list(self.norm.center), "scale": float(self.norm.scale),
                "margin": self.margin}

    def evaluate(self, field: Field, device: torch.device | str = "cpu") -> dict[str, float]:
        """IoU on the full training grid (threshold 0.5), as the paper reports."""
        return self.compare(render_occupancy(field, self.n, device))

    def compare(self, decoded: np.ndarray) -> dict[str, float]:
        if decoded.shape != self.grid.shape:
            raise InputError(f"decoded grid {decoded.shape} differs from the ground truth {self.grid.shape}")
        return {"iou": iou(decoded, self.grid)}

    # ---- decoder side -------------------------------------------------------------------
    @classmethod
    def validate_meta(cls, meta: Meta, limits: Limits) -> None:
        n, center, scale, margin = (meta.get(k) for k in ("resolution", "center", "scale", "margin"))
        cap = limits.max_resolution
        if isinstance(n, bool) or not isinstance(n, int) or not MIN_RESOLUTION <= n <= cap:
            raise FormatError(f"occupancy header has resolution {shown(n)}; this decoder accepts {MIN_RESOLUTION}..{cap} "
                              f"({limits.hint('max_resolution')} if you trust this file)")
        if not (isinstance(center, (list, tuple)) and len(center) == 3
                and all(isinstance(c, float) and abs(c) <= _MAX_COORD for c in center)):
            raise FormatError("occupancy header lacks a valid center (3 finite floats)")
        if not (isinstance(scale, float) and 0 < scale <= _MAX_COORD):
            raise FormatError("occupancy header lacks a valid positive scale")
        if not (isinstance(margin, float) and 0.0 <= margin < 0.5):
            raise FormatError("occupancy header has an invalid margin")
        check_network(meta, cls.in_features, cls.out_features)

    @classmethod
    def reconstruct(cls, meta: Meta, field: Field, limits: Limits = DEFAULT_LIMITS, resolution: int | None = None,
                    device: str = "cpu", force: bool = False, progress: bool = False, **_: Any) -> np.ndarray:
        """Boolean (r, r, r) grid at any resolution r (default: the training grid's)."""
        n = check_resolution(meta["resolution"] if resolution is None else resolution, force, limits.max_resolution)
        check_work(meta, n ** 3, limits, "lower --resolution")
        return render_occupancy(field, n, device, batch_rows(meta, _RENDER_CHUNK), progress)

    decode_options = ("resolution",)
    formats = ("npy", "ply", "obj", "stl", "off")

    @classmethod
    def save(cls, output: np.ndarray, path: Path, meta: Meta) -> None:
        """``.npy``: the boolean grid; ``.ply/.obj/.stl/.off``: marching cubes in the source frame."""
        path = Path(path)
        writer = OUTPUT_WRITERS.get(path.suffix.lower())
        if writer is None:
            raise InputError(f"{path}: cannot write occupancy as {path.suffix!r}; use one of {', '.join(OUTPUT_WRITERS)}")
        writer(output, path, meta)
