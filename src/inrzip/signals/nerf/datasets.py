"""Scene loaders: Blender synthetic (transforms_*.json, RGBA over white) and LLFF (poses_bounds.npy).

Each loader returns a ``Scene``: views per split at a chosen size, one pinhole camera, the depth
range, and the parameters of an orbit for turntable videos. Formats are a registry
(``SCENE_FORMATS``): a new layout is one sniff + one load function.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from ...errors import InputError
from ...limits import DEFAULT_LIMITS, Limits

__all__ = ["Views", "Scene", "SceneFormat", "SCENE_FORMATS", "sniff_scene", "load_scene", "DEFAULT_SIZE",
           "MAX_SIZE"]

DEFAULT_SIZE = 100  # longest image side after downscaling: CPU-friendly (lego 100x100, fern 100x75)
MAX_SIZE = 4096
_MAX_LLFF_VIEWS = 1 << 16  # rows of poses_bounds.npy
LLFF_HOLD = 8  # every 8th LLFF view is held out for testing (NeRF's llffhold)
LLFF_BD_FACTOR = 0.75  # NeRF rescales LLFF so the nearest bound lands at 1 / 0.75


@dataclass
class Views:
    images: np.ndarray  # (N, H, W, 3) float32 in [0, 1]
    poses: np.ndarray  # (N, 3, 4) float64 camera-to-world


@dataclass
class Scene:
    format: str  # "blender" | "llff"
    height: int
    width: int
    focal: float  # pixels, at this size
    near: float
    far: float
    ndc: bool
    white_background: bool
    splits: dict[str, Views]
    orbit_kind: str  # key of rays.ORBITS
    orbit: list[float]
    skipped: int = 0  # frames listed but without an image file (the staged lego test split keeps 1 in 8)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SceneFormat:
    sniff: Callable[[Path], bool]
    load: Callable[[Path, int, tuple[str, ...], Limits], Scene]


def _target_size(w: int, h: int, size: int) -> tuple[int, int]:
    """(w, h) with the longest side ``size`` (0 = keep), aspect kept, never upscaled."""
    if size <= 0 or max(w, h) <= size:
        return w, h
    s = size / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _read_rgb(path: Path, size: tuple[int, int] | None, white: bool, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """(H, W, 3) float32: RGBA composited over white (or black) first, then box-downscaled,
    which equals downscaling premultiplied colour, so edges keep the right blend."""
    with _open_view(path, limits) as im:
        im.load()
        mode = "RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"
        a = np.asarray(im.convert(mode), dtype=np.float32) / 255.0
    if a.shape[2] == 4:
        rgb, alpha = a[..., :3], a[..., 3:]
        a = rgb * alpha + (1.0 - alpha) * (1.0 if white else 0.0)
    if size is not None and size != (a.shape[1], a.shape[0]):
        chans = [Image.fromarray(a[..., c], mode="F").resize(size, Image.BOX) for c in range(3)]
        a = np.stack([np.asarray(c, np.float32) for c in chans], -1)
    return np.clip(a, 0.0, 1.0)


def _bomb(path: Path, limits: Limits) -> InputError:
    return InputError(f"{path}: image is over {2 * Image.MAX_IMAGE_PIXELS} pixels (a decompression bomb?); a view may "
                      f"have up to {limits.max_pixels} pixels ({limits.hint('max_pixels')})")


def _check_pixels(path: Path, size: tuple[int, int], limits: Limits) -> None:
    """A view larger than ``limits.max_pixels`` is refused before it is decoded (decompression bombs)."""
    w, h = size
    if w < 1 or h < 1 or w * h > limits.max_pixels:
        raise InputError(f"{path}: image is {w}x{h}, over the limit of {limits.max_pixels} pixels "
                         f"({limits.hint('max_pixels')})")


def _image_size(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[int, int]:
    with _open_view(path, limits) as im:
        return im.size


@contextmanager
def _open_view(path: Path, limits: Limits) -> Iterator[Image.Image]:
    """A scene's view, opened with its size checked before it is decoded; whatever Pillow raises on a hostile
    or missing file (inside the ``with`` too) becomes one ``InputError`` (see image.read_image)."""
    try:
        with Image.open(path) as im:
            _check_pixels(path, im.size, limits)
            yield im
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: image listed by the scene is missing") from None
    except Image.DecompressionBombError:
        raise _bomb(path, limits) from None
    except Exception as exc:  # Pillow raises many types on hostile files
        raise InputError(f"{path}: cannot read image ({exc.__class__.__name__}); re-export it as PNG") from None


def _check_memory(count: int, w: int, h: int, limits: Limits) -> None:
    if count * w * h * 12 > limits.max_scene_bytes:
        raise InputError(f"{count} views at {w}x{h} need {count * w * h * 12 / 2 ** 30:.1f} GB of floats, over the limit "
                         f"of {limits.max_scene_bytes / 2 ** 30:.1f} GB; pass a smaller --size or "
                         f"{limits.hint('max_scene_bytes')}")


# ---- Blender synthetic --------------------------------------------------------------------------

def _sniff_blender(path: Path) -> bool:
    return path.is_dir() and (path / "transforms_train.json").is_file()


def _read_json(path: Path, limits: Limits) -> dict:
    try:
        if path.stat().st_size > limits.max_json_bytes:
            raise InputError(f"{path}: {path.stat().st_size} bytes, over the limit of {limits.max_json_bytes} for a "
                             f"scene description ({limits.hint('max_json_bytes')})")
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing; a Blender scene needs transforms_train.json and transforms_test.json") from None
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: not a scene description (a JSON object with camera_angle_x and frames)")
    return meta


def _frame(root: Path, frame: object) -> tuple[Path, np.ndarray]:
    """(image path, 4x4 pose) of one entry of ``frames``; KeyError/TypeError/ValueError when malformed."""
    name = frame["file_path"]  # type: ignore[index]
    if not isinstance(name, str) or not name:
        raise TypeError("file_path is not a file name")
    return root / (name + ("" if name.endswith(".png") else ".png")), np.asarray(frame["transform_matrix"], np.float64)


def _blender_frames(root: Path, split: str, limits: Limits) -> tuple[float, list[tuple[Path, np.ndarray]], int]:
    """camera_angle_x, (image path, 4x4 pose) of frames whose image exists, count of missing."""
    meta = _read_json(root / f"transforms_{split}.json", limits)
    try:
        angle = float(meta["camera_angle_x"])
        if not isinstance(meta["frames"], list):
            raise TypeError("frames is not a list")
        frames = [_frame(root, f) for f in meta["frames"]]
    except (KeyError, TypeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:80]
        raise InputError(f"{root / f'transforms_{split}.json'}: lacks camera_angle_x or a valid frames list "
                         f"({type(exc).__name__}: {reason}); each frame needs file_path and a 4x4 transform_matrix") from None
    if not 0 < angle < math.pi or any(p.shape != (4, 4) or not np.isfinite(p).all() for _, p in frames):
        raise InputError(f"{root / f'transforms_{split}.json'}: bad camera angle or transform_matrix")
    present = [(p, m) for p, m in frames if p.is_file()]
    if not present:
        raise InputError(f"{root}: none of the {len(frames)} {split} images listed in transforms_{split}.json exist")
    return angle, present, len(frames) - len(present)


def _load_blender(root: Path, size: int, splits: tuple[str, ...], limits: Limits = DEFAULT_LIMITS) -> Scene:
    views, skipped, dims = {}, 0, None
    for split in splits:
        angle, frames, missing = _blender_frames(root, split, limits)
        skipped += missing
        w0, h0 = _image_size(frames[0][0], limits)
        w, h = _target_size(w0, h0, size)
        _check_memory(len(frames), w, h, limits)
        images = np.stack([_read_rgb(p, (w, h), white=True, limits=limits) for p, _ in frames])
        if images.shape[1:3] != (h, w):
            raise InputError(f"{root}: {split} images differ in size; all views must share one camera")
        views[split] = Views(images, np.stack([m[:3, :4] for _, m in frames]))
        focal = 0.5 * w0 / math.tan(0.5 * angle) * (w / w0)
        if dims is not None and dims != (h, w, round(focal, 6)):
            raise InputError(f"{root}: splits use different cameras; inrzip needs one camera per scene")
        dims = (h, w, round(focal, 6))
    eye = views[splits[0]].poses[:, :3, 3]
    dist = np.linalg.norm(eye, axis=-1)
    radius = float(dist.mean())
    elev = float(np.degrees(np.arcsin(np.clip(eye[:, 2] / np.maximum(dist, 1e-12), -1, 1))).mean())
    h, w, focal = dims
    return Scene("blender", h, w, focal, 2.0, 6.0, ndc=False, white_background=True, splits=views,
                 orbit_kind="sphere", orbit=[radius, elev], skipped=skipped)


# ---- LLFF forward-facing ------------------------------------------------------------------------

def _sniff_llff(path: Path) -> bool:
    return path.is_dir() and (path / "poses_bounds.npy").is_file()


def _llff_image_dir(root: Path, size: int, limits: Limits) -> tuple[Path, list[Path]]:
    """The smallest images/ or images_K/ folder still at least ``size`` wide (else the largest)."""
    cands = []
    for d in root.iterdir():
        if d.is_dir() and re.fullmatch(r"images(_\d+)?", d.name):
            files = sorted(p for p in d.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
            if files:
                cands.append((max(_image_size(files[0], limits)), d, files))
    if not cands:
        raise InputError(f"{root}: no images/ or images_N/ folder with PNG/JPG views")
    cands.sort(key=lambda c: c[0])
    big_enough = [c for c in cands if 0 < size <= c[0]]
    _, d, files = big_enough[0] if big_enough else cands[-1]
    return d, files


def _poses_avg(poses: np.ndarray) -> np.ndarray:
    """NeRF's mean pose: mean centre, summed z (back) and y (up) axes, orthonormalised."""
    centre = poses[:, :3, 3].mean(0)
    back = poses[:, :3, 2].sum(0)
    back /= np.linalg.norm(back)
    right = np.cross(poses[:, :3, 1].sum(0), back)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(back, right), back, centre], -1)


def _llff_poses(arr: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recentred, rescaled (N, 3, 4) poses in NeRF's [right, up, back] frame, bounds (N, 2), hwf."""
    if arr.ndim != 2 or arr.shape[1] != 17 or arr.shape[0] < 2 or not np.isfinite(arr).all():
        raise InputError(f"{path}: expected an (N, 17) finite array of poses and bounds, N >= 2")
    raw = arr[:, :15].reshape(-1, 3, 5)
    hwf, bounds = raw[0, :, 4], arr[:, 15:17].copy()
    if bounds.min() <= 0 or (hwf <= 0).any():
        raise InputError(f"{path}: depth bounds and image size must be positive")
    poses = np.concatenate([raw[:, :, 1:2], -raw[:, :, 0:1], raw[:, :, 2:4]], 2)  # [down,right,back]->[right,up,back]
    scale = 1.0 / (bounds.min() * LLFF_BD_FACTOR)
    poses[:, :, 3] *= scale
    bounds *= scale
    avg = np.vstack([_poses_avg(poses), [0, 0, 0, 1]])
    full = np.concatenate([poses, np.broadcast_to([0.0, 0.0, 0.0, 1.0], (len(poses), 1, 4))], 1)
    return (np.linalg.inv(avg) @ full)[:, :3, :4], bounds, hwf


def _spiral_params(poses: np.ndarray, bounds: np.ndarray) -> list[float]:
    """NeRF's render_path_spiral settings: radii = 90th percentile of |camera centre|, focus at a
    disparity-weighted mean depth, up = mean camera up."""
    close, inf = bounds.min() * 0.9, bounds.max() * 5.0
    focus = 1.0 / (0.25 / close + 0.75 / inf)
    rads = np.percentile(np.abs(poses[:, :3, 3]), 90, 0)
    up = poses[:, :3, 1].sum(0)
    return [*map(float, rads), float(focus), *map(float, up / np.linalg.norm(up))]


def _read_poses_bounds(path: Path) -> np.ndarray:
    """poses_bounds.npy as float64 (N, 17); its header's shape is checked against the file before any
    allocation (a hostile header could claim billions of rows), never unpickled."""
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
        if arr.ndim != 2 or arr.shape[1] != 17 or not 2 <= arr.shape[0] <= _MAX_LLFF_VIEWS or arr.dtype.kind not in "fiu":
            raise InputError(f"{path}: expected an (N, 17) numeric array of poses and bounds, 2 <= N <= {_MAX_LLFF_VIEWS}")
        return np.array(arr, dtype=np.float64)
    except InputError:
        raise
    except (OSError, ValueError, EOFError, TypeError) as exc:  # includes a header that claims more than the file holds
        raise InputError(f"{path}: not a readable .npy array ({exc.__class__.__name__})") from None


def _load_llff(root: Path, size: int, splits: tuple[str, ...], limits: Limits = DEFAULT_LIMITS) -> Scene:
    arr = _read_poses_bounds(root / "poses_bounds.npy")
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            poses, bounds, hwf = _llff_poses(arr, root / "poses_bounds.npy")
        except (FloatingPointError, np.linalg.LinAlgError):
            raise InputError(f"{root / 'poses_bounds.npy'}: degenerate camera poses (zero axes)") from None
    folder, files = _llff_image_dir(root, size, limits)
    if len(files) != len(poses):
        raise InputError(f"{folder}: {len(files)} images but poses_bounds.npy has {len(poses)} poses")
    w0, h0 = _image_size(files[0], limits)
    w, h = _target_size(w0, h0, size)
    _check_memory(len(files), w, h, limits)
    focal = float(hwf[2]) * w / float(hwf[1])
    test = np.arange(len(files)) % LLFF_HOLD == 0
    index = {"train": np.flatnonzero(~test), "test": np.flatnonzero(test), "all": np.arange(len(files))}
    views = {}
    for split in splits:
        if split not in index:
            raise InputError(f"LLFF scenes have splits train/test/all, not {split!r}")
        ids = index[split]
        views[split] = Views(np.stack([_read_rgb(files[i], (w, h), white=False, limits=limits) for i in ids]), poses[ids])
    return Scene("llff", h, w, focal, 0.0, 1.0, ndc=True, white_background=False, splits=views,
                 orbit_kind="spiral", orbit=_spiral_params(poses, bounds),
                 notes=[f"images from {folder.name}/, every {LLFF_HOLD}th view held out"])


SCENE_FORMATS: dict[str, SceneFormat] = {
    "blender": SceneFormat(_sniff_blender, _load_blender),
    "llff": SceneFormat(_sniff_llff, _load_llff),
}


def sniff_scene(path: Path) -> str | None:
    """Name of the scene format of folder ``path``, or None."""
    return next((name for name, f in SCENE_FORMATS.items() if f.sniff(Path(path))), None)


def load_scene(path: str | Path, size: int = DEFAULT_SIZE, splits: tuple[str, ...] = ("train", "test"),
               limits: Limits = DEFAULT_LIMITS) -> Scene:
    """Load a scene folder at ``size`` (longest side in pixels, 0 = full resolution)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a scene folder (expected transforms_train.json or poses_bounds.npy inside)")
    name = sniff_scene(path)
    if name is None:
        raise InputError(f"{path}: no transforms_train.json (Blender) or poses_bounds.npy (LLFF) in this folder")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise InputError(f"scene size {size!r} out of range; pass --size between 1 and {MAX_SIZE} (0 = full)")
    return SCENE_FORMATS[name].load(path, size, tuple(splits), limits)
