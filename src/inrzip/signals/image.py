"""Images: pixels at coordinates in [-1, 1]^2 (each axis mapped separately, so non-square images
do not stretch past the range as COIN's x in [-1, 2] did). Decodes at any resolution."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import FormatError, InputError
from ..limits import DEFAULT_LIMITS, Limits
from ..metrics import psnr, ssim
from .base import SIGNALS, Field, Meta, Signal

__all__ = ["ImageSignal", "read_image", "image_grid", "render_image"]

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm", ".gif", ".tga"}
DEFAULT_MAX_PIXELS = DEFAULT_LIMITS.max_pixels  # 67 MP: refuse larger images / outputs unless the user raises it
_CHUNK = 1 << 16


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Read any Pillow image as float32 HxWxC in [0, 1] and its bit depth (8 or 16).

    Grayscale stays 1 channel, alpha is kept as a channel, palette images are expanded,
    16-bit grayscale keeps 16 bits; CMYK/YCbCr become RGB.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels or w < 1 or h < 1:
                    raise InputError(f"{path}: image is {w}x{h}; inrzip accepts up to {max_pixels} pixels "
                                     "(raise it with --max-pixels)")
                return _to_array(im)
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{path}: not a readable image") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: cannot read image ({exc})") from None


def _to_array(im: Image.Image) -> tuple[np.ndarray, int]:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if mode == "F" or a.max(initial=0) > 255 or mode.startswith("I;16"):
            return (np.clip(a, 0, 65535) / 65535.0).astype(np.float32)[..., None], 16
        return (a / 255.0).astype(np.float32)[..., None], 8
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    a = np.asarray(im, dtype=np.float32) / 255.0
    return (a[..., None] if a.ndim == 2 else a), 8


def _axis(n: int, device: torch.device | str, source: int | None = None, sub: int = 1) -> torch.Tensor:
    """Sample points of an n-pixel axis: the fitted grid's pixel centres, linspace(-1, 1, n), or, for an axis
    resampled from ``source`` pixels, the centres of its n pixels under the pixel-area convention (PIL,
    OpenCV, align_corners=False: output pixel i sits at source position (i + 1/2) source / n - 1/2), each
    split into ``sub`` points over its width (box filtering when shrinking)."""
    if source is None or (source == n and sub == 1):
        return torch.linspace(-1.0, 1.0, n, device=device) if n > 1 else torch.zeros(1, device=device)
    if source == 1:
        return torch.zeros(n * sub, device=device)
    steps = (torch.arange(n * sub, dtype=torch.float64) + 0.5) / sub  # output pixel units
    position = steps * (source / n) - 0.5  # source pixel units
    return (position * (2.0 / (source - 1)) - 1.0).to(torch.float32).to(device)


def image_grid(h: int, w: int, device: torch.device | str = "cpu", source: tuple[int, int] | None = None,
               sub: int = 1) -> torch.Tensor:
    """(h*w, 2) coordinates (x, y), row-major like the pixels: the fitted grid on [-1, 1], or an h x w
    resampling of a ``source`` = (h, w) grid with ``sub`` x ``sub`` points per pixel (``_axis``)."""
    sh, sw = source if source is not None else (None, None)
    gy, gx = torch.meshgrid(_axis(h, device, sh, sub), _axis(w, device, sw, sub), indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def _quantize(values: np.ndarray, depth: int) -> np.ndarray:
    peak = (1 << depth) - 1
    return np.clip(np.rint(values * peak), 0, peak).astype(np.uint16 if depth > 8 else np.uint8)


@torch.no_grad()
def render_image(field: Field, h: int, w: int, channels: int, depth: int, device: torch.device | str = "cpu",
                 source: tuple[int, int] | None = None, sub: int = 1) -> np.ndarray:
    """Evaluate the field on an h x w grid in chunks; integer image of the given bit depth. ``source``: the
    fitted image's (h, w) when resampling it (``image_grid``); with ``sub`` > 1 each pixel is the mean of
    ``sub`` x ``sub`` samples over its area (a box filter: no aliasing in a smaller image)."""
    coords = image_grid(h, w, device, source, sub)
    if sub == 1:  # quantize chunk by chunk in torch: the same float32 ops as ``_quantize``, no full float copy
        peak = (1 << depth) - 1
        pixels = np.empty((h * w, channels), dtype=np.uint16 if depth > 8 else np.uint8)
        for s in range(0, h * w, _CHUNK):
            y = (field(coords[s:s + _CHUNK]) + 0.5).float()
            pixels[s:s + _CHUNK] = y.mul_(peak).round_().clamp_(0, peak).to(torch.int32).cpu().numpy()
        return pixels.reshape(h, w, channels)
    out = np.empty((coords.shape[0], channels), dtype=np.float32)
    for s in range(0, coords.shape[0], _CHUNK):
        out[s:s + _CHUNK] = (field(coords[s:s + _CHUNK]) + 0.5).float().cpu().numpy()
    out = out.reshape(h, sub, w, sub, channels).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    return _quantize(out, depth)


@SIGNALS.register()
class ImageSignal(Signal):
    """A 2-D image; the network predicts pixel values minus 0.5 at (x, y)."""

    kind = "image"
    in_features = 2
    default_loss = "log10mse"
    # D'OH with the SIREN reference-code bound for B (sqrt(6) wider hidden weights than the supplement's eq. 16)
    # at lr 0.045 / latent: on 256x256 crops at 300 epochs +1.3 to +7.8 dB over the supplement's bound at its
    # best rate (docs/fitting.md, "D'OH init"); `--doh-init doh` keeps the supplement's.
    default_doh_init = "siren"
    default_lrs = {"doh": 0.045}

    def __init__(self, pixels: np.ndarray, depth: int = 8) -> None:
        self.pixels, self.depth = pixels, depth  # (H, W, C) float32 in [0, 1]
        self.h, self.w, self.out_features = pixels.shape
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def sniff(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in SUFFIXES

    @classmethod
    def load(cls, path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, **_: Any) -> "ImageSignal":
        return cls(*read_image(Path(path), max_pixels))

    def num_samples(self) -> int:
        return self.h * self.w

    def _data(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            targets = torch.from_numpy(self.pixels.reshape(-1, self.out_features) - 0.5).to(device)
            self._cache[key] = (image_grid(self.h, self.w, device), targets)
        return self._cache[key]

    def batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        coords, targets = self._data(device)
        n = coords.shape[0]
        if batch_size >= n:
            yield coords, targets
            return
        # One gather per epoch, then contiguous slices: the same batches as indexing per step, but 48
        # random 8192-row gathers cost 1.4 ms a step on CPU (7% of a 28x9 step; docs/fitting-speed.md).
        perm = torch.randperm(n, generator=generator).to(device)
        coords, targets = coords.index_select(0, perm), targets.index_select(0, perm)
        for s in range(0, n, batch_size):
            yield coords[s:s + batch_size], targets[s:s + batch_size]

    def meta(self) -> Meta:
        return {"h": self.h, "w": self.w, "c": self.out_features, "depth": self.depth}

    def reference(self) -> np.ndarray:
        """The source as integers of its bit depth, what a decoded image is compared with."""
        return _quantize(self.pixels, self.depth)

    def evaluate(self, field: Field, device: torch.device | str = "cpu") -> dict[str, float]:
        rec = render_image(field, self.h, self.w, self.out_features, self.depth, device)
        return self.compare(rec)

    def compare(self, decoded: np.ndarray) -> dict[str, float]:
        peak = float((1 << self.depth) - 1)
        ref = self.reference().astype(np.float64) / peak
        dec = decoded.astype(np.float64) / peak
        return {"psnr": psnr(dec, ref), "ssim": ssim(dec, ref)}

    def sample_grid(self) -> tuple[int, ...]:
        return (self.w, self.h)  # input axes are (x, y)

    def rate_report(self, file_bytes: int, estimated_bytes: float) -> dict[str, float]:
        pixels = self.num_samples()
        return {"bpp": 8 * file_bytes / pixels, "estimated_bpp": 8 * estimated_bytes / pixels}

    @classmethod
    def validate_meta(cls, meta: Meta, limits: Limits) -> None:
        h, w, c, d = (meta.get(k) for k in ("h", "w", "c", "depth"))
        if not all(isinstance(v, int) for v in (h, w, c, d)) or c not in (1, 2, 3, 4) or d not in (8, 16):
            raise FormatError("image header is missing or has invalid shape fields")
        if not (1 <= h and 1 <= w and h * w <= limits.max_pixels):
            raise FormatError(f"image header claims {w}x{h} pixels, over the limit of {limits.max_pixels} "
                              "(raise it with --max-pixels if you trust this file)")

    @classmethod
    def reconstruct(cls, meta: Meta, field: Field, limits: Limits = DEFAULT_LIMITS, scale: float = 1.0,
                    device: str = "cpu", **_: Any) -> np.ndarray:
        """The image at ``scale`` times its size (docs/resolution.md). Pixel centres follow the pixel-area
        convention of image resamplers, so a 2x decode lines up with a 2x bicubic upsampling. Above 1 the network
        is evaluated at the new pixel centres (it is defined between the samples it was fitted to, and the
        band-limited encoding keeps it smooth there); below 1 each pixel averages the area it covers (``sub`` x
        ``sub`` samples), like a box downscale, so thumbnails are not aliased."""
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise InputError(f"scale must be a positive number, got {scale!r}")
        h, w = max(1, round(meta["h"] * scale)), max(1, round(meta["w"] * scale))
        sub = 1 if scale >= 1 else min(math.ceil(1 / scale), 64)
        if h * w * sub * sub > limits.max_pixels:
            raise FormatError(f"decoding at {w}x{h} (x{sub * sub} samples each) exceeds {limits.max_pixels} pixels; "
                              "lower --scale or raise --max-pixels")
        source = None if (h, w) == (meta["h"], meta["w"]) else (meta["h"], meta["w"])
        return render_image(field, h, w, meta["c"], meta["depth"], device, source, sub)

    @classmethod
    def save(cls, output: np.ndarray, path: Path, meta: Meta) -> None:
        path = Path(path)
        if path.suffix.lower() == ".npy":
            np.save(path, output)
            return
        c = output.shape[2]
        if output.dtype == np.uint16:
            if c != 1:
                raise InputError("16-bit colour output: write .npy")
            Image.fromarray(np.ascontiguousarray(output[..., 0])).save(path)  # mode I;16
            return
        arr = np.ascontiguousarray(output[..., 0] if c == 1 else output)  # Pillow infers L / LA / RGB / RGBA
        try:
            Image.fromarray(arr).save(path)
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f"{path}: cannot write image ({exc}); use .png") from None
