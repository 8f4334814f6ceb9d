"""Triangle meshes in and out of the occupancy pipeline.

- ``load_mesh``: any OBJ/PLY/STL/OFF trimesh reads, checked (faces, volume), one-line errors.
- ``Normalisation``: maps the source frame into [-1, 1]^3 with a margin, and back, so decoded meshes
  come out in the source's own frame and units.
- ``occupancy_grid``: ground truth at ``N^3`` points by generalized winding numbers (libigl), in
  chunks, cached on disk as packed bits keyed by (mesh content, N, margin).
- ``grid_to_mesh`` / ``export_mesh``: marching cubes on a boolean grid, padded so the surface is closed.

Grid convention (shared with ``voxelize`` and the occupancy signal): an ``N``-grid holds the points
``linspace(-1, 1, N)`` on each axis, ``grid[i, j, k]`` is the point ``(x_i, y_j, z_k)``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import DEFAULT_LIMITS, Limits

__all__ = [
    "MESH_SUFFIXES", "DEFAULT_MARGIN", "Normalisation", "load_mesh", "grid_axis", "index_to_coords",
    "cache_dir", "winding_occupancy", "occupancy_grid", "grid_to_mesh", "export_mesh",
]

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off")
# Fraction of [-1, 1] left empty around the shape's longest axis: keeps the ground-truth grid's
# border voxels empty (so marching cubes closes the surface) and leaves the network a little slack.
DEFAULT_MARGIN = 0.05


def _trimesh():
    """Import trimesh lazily: it is the optional ``[mesh]`` extra."""
    try:
        import trimesh
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("reading meshes needs trimesh and libigl: pip install 'inrzip[mesh]'") from None
    return trimesh


@dataclass(frozen=True)
class Normalisation:
    """``x_norm = (x - center) / scale``: the source's bounding box centred, longest half-extent at 1 - margin."""

    center: tuple[float, float, float]
    scale: float

    @classmethod
    def fit(cls, vertices: np.ndarray, margin: float = DEFAULT_MARGIN) -> "Normalisation":
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        half = float((hi - lo).max()) / 2.0
        if not np.isfinite(half) or half <= 0:
            raise InputError("mesh has zero extent (all vertices coincide); occupancy needs a solid shape")
        # float32 center: the .inr header stores float lists as f32, so encoder and decoder agree exactly
        center = tuple(float(np.float32(c)) for c in (lo + hi) / 2.0)
        return cls(center, half / (1.0 - margin))

    def forward(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - np.asarray(self.center)) / self.scale

    def inverse(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) * self.scale + np.asarray(self.center)


def _as_single_mesh(loaded, path: Path):
    """Scenes (multi-object files) are concatenated; point clouds and empty files are refused."""
    trimesh = _trimesh()
    if isinstance(loaded, trimesh.Scene):
        parts = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not parts:
            kinds = {type(g).__name__ for g in loaded.geometry.values()}
            if kinds & {"PointCloud"}:
                raise InputError(f"{path}: a point cloud without faces; occupancy needs a triangle mesh")
            raise InputError(f"{path}: no triangles found (empty, or not a mesh file); give an OBJ/PLY/STL/OFF with faces")
        loaded = trimesh.util.concatenate(parts)
    if isinstance(loaded, trimesh.PointCloud) or (hasattr(loaded, "vertices") and not hasattr(loaded, "faces")):
        raise InputError(f"{path}: a point cloud without faces; occupancy needs a triangle mesh")
    if not isinstance(loaded, trimesh.Trimesh):
        raise InputError(f"{path}: not a triangle mesh ({type(loaded).__name__}); give an OBJ/PLY/STL/OFF")
    return loaded


# A file from outside must not make us allocate without bound: 1 GB of OBJ is ~15M triangles, far above
# what a 512^3 grid resolves (the Stanford scans here are 5k-100k).
MAX_MESH_BYTES = DEFAULT_LIMITS.max_mesh_bytes


_MAX_COORD = 1e15  # |vertex coordinate|: beyond, the normalisation's float32 centre and scale would overflow


def _check_arrays(mesh, path: Path) -> None:
    """The raw vertices and faces of a file, before trimesh processes them (which would silently drop
    non-finite vertices): each defect is a one-line ``InputError``."""
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if len(v) == 0 or len(f) == 0:
        if len(v):
            raise InputError(f"{path}: a point cloud without faces; occupancy needs a triangle mesh")
        raise InputError(f"{path}: no triangles found (empty, or not a mesh file); give an OBJ/PLY/STL/OFF with faces")
    if not np.isfinite(v).all():
        raise InputError(f"{path}: mesh has NaN or infinite vertex coordinates")
    if np.abs(v).max() > _MAX_COORD:
        raise InputError(f"{path}: vertex coordinates reach {np.abs(v).max():.3g}, over {_MAX_COORD:.0e}; rescale the mesh")
    if f.ndim != 2 or f.shape[1] != 3 or f.min() < 0 or f.max() >= len(v):
        raise InputError(f"{path}: a face refers to a vertex that does not exist; the file is corrupt")


def load_mesh(path: str | Path, max_bytes: int = MAX_MESH_BYTES):
    """Read a triangle mesh (vertices merged) and check it can bound a volume.

    Non-watertight meshes are accepted: occupancy uses generalized winding numbers, which stay
    meaningful across small holes. Inconsistently oriented faces are re-oriented first.
    """
    trimesh = _trimesh()
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(f"{path}: unsupported mesh suffix {path.suffix!r}; use one of {', '.join(MESH_SUFFIXES)}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"{path}: {size} bytes is over the {max_bytes} byte limit for a mesh file; decimate it "
                         f"first (occupancy at 512^3 needs far fewer triangles) or {Limits.hint('max_mesh_bytes')}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the file is checked below; trimesh's own warnings are not the user's
            loaded = trimesh.load(path, process=False)
    except IndexError:
        raise InputError(f"{path}: a face refers to a vertex that does not exist; the file is corrupt") from None
    except Exception:  # trimesh raises many types (even ImportError) on garbage input
        raise InputError(f"{path}: not a readable {path.suffix[1:].upper()} mesh; give a valid OBJ/PLY/STL/OFF file") from None
    mesh = _as_single_mesh(loaded, path)
    _check_arrays(mesh, path)
    mesh.process()  # merge duplicate vertices, drop degenerate faces: what trimesh.load(process=True) does
    if len(mesh.faces) == 0:
        raise InputError(f"{path}: no triangles left after removing degenerate ones; give a mesh with faces")
    if not mesh.is_winding_consistent:
        trimesh.repair.fix_winding(mesh)
    return mesh


def grid_axis(n: int) -> np.ndarray:
    """The ``n`` sample positions per axis, ``linspace(-1, 1, n)`` (float32)."""
    return np.linspace(-1.0, 1.0, n, dtype=np.float32)


def index_to_coords(flat: np.ndarray, n: int) -> np.ndarray:
    """Flat C-order indices into an ``n^3`` grid -> points ``(len, 3)`` in [-1, 1]^3 (float32)."""
    flat = np.asarray(flat, dtype=np.int64)
    ijk = np.stack([flat // (n * n), (flat // n) % n, flat % n], axis=-1)
    return (ijk.astype(np.float32) * np.float32(2.0 / (n - 1)) - np.float32(1.0)).astype(np.float32)


_VOXELIZER = "igl-fwn-abs0.5-v1"  # bump when the ground truth's definition changes: old caches are ignored
_QUERY_CHUNK = 1 << 21  # grid points per winding-number call (48 MB of float64 queries)


def cache_dir() -> Path:
    """``$INRZIP_CACHE`` or ``~/.cache/inrzip``; ground-truth grids live in its ``occupancy/``."""
    root = os.environ.get("INRZIP_CACHE") or Path.home() / ".cache" / "inrzip"
    return Path(root) / "occupancy"


def winding_occupancy(vertices: np.ndarray, faces: np.ndarray, n: int, progress: bool = False) -> np.ndarray:
    """Boolean ``(n, n, n)``: |generalized winding number| >= 0.5 at each grid point.

    Vertices must already be normalised into [-1, 1]^3. The absolute value makes inside-out meshes
    work; winding numbers degrade gracefully across holes, unlike ray parity tests.
    """
    import igl

    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    total = n ** 3
    out = np.empty(total, dtype=bool)
    starts = range(0, total, _QUERY_CHUNK)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"ground truth {n}^3", unit="chunk", leave=False)
    for s in starts:
        e = min(total, s + _QUERY_CHUNK)
        q = index_to_coords(np.arange(s, e), n).astype(np.float64)
        out[s:e] = np.abs(igl.fast_winding_number(v, f, q)) >= 0.5
    return out.reshape(n, n, n)


def _cache_key(vertices: np.ndarray, faces: np.ndarray, n: int, margin: float) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(vertices, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(faces, dtype="<i8").tobytes())
    h.update(f"|{n}|{margin!r}|{_VOXELIZER}".encode())
    return h.hexdigest()[:32]


def _read_cached(path: Path, n: int) -> np.ndarray | None:
    """The cached grid, or None if absent or unreadable (a broken cache is recomputed, never trusted)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["n"]) != n:
                return None
            return np.unpackbits(z["bits"], count=n ** 3).astype(bool).reshape(n, n, n)
    except (OSError, ValueError, KeyError):
        return None


def _write_cached(path: Path, grid: np.ndarray) -> None:
    """Atomic write (temp file + rename), so concurrent runs never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, n=np.int64(grid.shape[0]), bits=np.packbits(grid.ravel()))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # an unwritable cache only costs time


def occupancy_grid(mesh, n: int, norm: Normalisation, margin: float, cache: bool = True,
                   progress: bool = False) -> np.ndarray:
    """Ground-truth boolean grid of ``mesh`` (source frame) at ``n^3`` points, from the cache if present."""
    path = cache_dir() / f"{_cache_key(mesh.vertices, mesh.faces, n, margin)}_{n}.npz"
    if cache and (grid := _read_cached(path, n)) is not None:
        return grid
    grid = winding_occupancy(norm.forward(mesh.vertices), mesh.faces, n, progress)
    if cache:
        _write_cached(path, grid)
    return grid


def grid_to_mesh(grid: np.ndarray, norm: Normalisation):
    """Marching cubes (level 0.5) on a boolean ``(n, n, n)`` grid, vertices in the source frame.

    The occupied bounding box is cropped and padded with one empty voxel on every side, so the
    surface is always closed (watertight) and memory stays near the shape's size, not ``n^3`` floats.
    """
    trimesh = _trimesh()
    from skimage.measure import marching_cubes

    n = grid.shape[0]
    occupied = np.argwhere(grid.any(axis=(1, 2))), np.argwhere(grid.any(axis=(0, 2))), np.argwhere(grid.any(axis=(0, 1)))
    if any(len(o) == 0 for o in occupied):
        raise InputError("decoded occupancy is empty: nothing to mesh (the fit failed; try more epochs)")
    lo = np.array([o.min() for o in occupied])
    hi = np.array([o.max() for o in occupied]) + 1
    crop = np.pad(grid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], 1).astype(np.float32)
    verts, faces, _, _ = marching_cubes(crop, level=0.5, allow_degenerate=False)
    index = verts + (lo - 1)  # back to indices of the full grid
    points = norm.inverse(index * (2.0 / (n - 1)) - 1.0)
    # MC orders triangles for a volume where values increase *into* the surface: flip so normals point out.
    return trimesh.Trimesh(vertices=points, faces=faces[:, ::-1], process=True)


def export_mesh(mesh, path: str | Path) -> None:
    """Write a mesh in the format of ``path``'s suffix (binary PLY/STL, OBJ, OFF)."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(f"{path}: unsupported mesh suffix {path.suffix!r}; use one of {', '.join(MESH_SUFFIXES)}")
    mesh.export(path)
