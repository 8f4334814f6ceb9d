"""Writing rendered views: a folder of PNGs, a GIF (Pillow), an MP4 (imageio + ffmpeg if present)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...errors import InputError

__all__ = ["to_uint8", "save_views", "check_writable", "FPS"]

FPS = 24


def to_uint8(views: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) float colours in [0, 1] -> uint8 (rounded, as a PNG stores them)."""
    return np.clip(np.rint(np.asarray(views) * 255.0), 0, 255).astype(np.uint8)


def _save_pngs(frames: np.ndarray, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f, mode="RGB").save(folder / f"view_{i:03d}.png")


def _save_gif(frames: np.ndarray, path: Path) -> None:
    ims = [Image.fromarray(f, mode="RGB") for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=round(1000 / FPS), loop=0, optimize=False)


def _mp4_writer() -> Any:
    """imageio with its ffmpeg binary: an optional extra, so its absence is one line naming the install."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (ffmpeg binary for imageio)
    except ImportError:
        raise InputError("writing MP4 needs `pip install imageio imageio-ffmpeg`; or write a .gif") from None
    return imageio


def check_writable(fmt: str) -> None:
    """Refuse, before a render, a format whose writer is not installed (MP4 without imageio-ffmpeg)."""
    if fmt == "mp4":
        _mp4_writer()


def _save_mp4(frames: np.ndarray, path: Path) -> None:
    imageio = _mp4_writer()
    pad = [(0, (-s) % 2) for s in frames.shape[1:3]]  # H.264 wants even sides
    frames = np.pad(frames, [(0, 0), *pad, (0, 0)], mode="edge")
    imageio.mimwrite(path, list(frames), fps=FPS, quality=8, macro_block_size=1)


_WRITERS = {".gif": _save_gif, ".mp4": _save_mp4}


def save_views(views: np.ndarray, path: Path) -> None:
    """Write views by ``path``'s suffix: .gif/.mp4 animation, .npy float array, else a PNG folder."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, np.asarray(views, np.float32))
        return
    frames = to_uint8(views)
    try:
        if suffix in _WRITERS:
            _WRITERS[suffix](frames, path)
        elif suffix:
            raise InputError(f"{path}: write views to a folder (no suffix), .gif, .mp4 or .npy")
        else:
            _save_pngs(frames, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
