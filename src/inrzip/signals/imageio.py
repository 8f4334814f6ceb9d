"""Image files in and out. Reading, of hostile input: any Pillow format as float32 pixels and a bit depth, with the
size checked before a pixel is decoded (decompression bombs), EXIF orientation, frames of animated files, and one
``InputError`` line for every way a file can be broken. Writing: decoded integers in the format a suffix names, 16
bits where it holds them, never silently dropping an alpha channel."""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError
from ..limits import DEFAULT_LIMITS, Limits

__all__ = ["read_image", "read_array", "image_suffix", "write_pixels", "SUFFIXES", "HOLDS_16", "HOLDS_ALPHA",
           "DEFAULT_MAX_PIXELS", "reason"]

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm", ".gif", ".tga"}
DEFAULT_MAX_PIXELS = DEFAULT_LIMITS.max_pixels  # 67 MP: refuse larger images / outputs unless the user raises it


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, frame: int | None = None) -> tuple[np.ndarray, int]:
    """Read any Pillow image as float32 HxWxC in [0, 1] and its bit depth (8 or 16), as it is displayed.

    Grayscale stays 1 channel, alpha is kept as a channel, palette images are expanded, 16-bit grayscale
    keeps 16 bits, and so does 16-bit colour (RGB, RGBA, gray + alpha) in PNG and TIFF files (Pillow decodes those
    at 8 bits, so ``_wide_colour`` reads them); CMYK/YCbCr become RGB; the EXIF orientation is applied. An
    animated image needs ``frame`` (multi-picture JPEGs: the primary picture). The size is checked before any pixel is decoded; every failure is an ``InputError``.
    """
    try:
        with warnings.catch_warnings(), _pillow_bomb_limit(max_pixels):
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is checked below
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels or w < 1 or h < 1:
                    raise InputError(f"{path}: image is {w}x{h}; inrzip accepts up to {max_pixels} pixels "
                                     f"({Limits.hint('max_pixels')})")
                im = _select_frame(im, path, frame)
                wide = _wide_colour(im, path, frame)
                if wide is not None:
                    pixels, depth = _upright_array(wide, _stored_orientation(im)), 16
                else:
                    im.load()  # Pillow turns a TIFF upright as it loads it (and drops the tag): ask after
                    pixels, depth = _to_array(_upright(im))
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"{path}: image is over {2 * Image.MAX_IMAGE_PIXELS} pixels (a decompression bomb?); inrzip "
                         f"accepts up to {max_pixels} pixels ({Limits.hint('max_pixels')})") from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable image") from None
    except Exception as exc:  # Pillow raises many types on hostile files (OSError, SyntaxError, struct.error...)
        raise InputError(f"{path}: cannot read image ({reason(exc)})") from None
    if not np.isfinite(pixels).all():
        raise InputError(f"{path}: image holds NaN or infinite pixel values (a float image); give finite pixels")
    return pixels, depth


def image_suffix(data: bytes) -> str | None:
    """The suffix (one of ``SUFFIXES``) of the image format ``data`` is in, recognised from its bytes by Pillow
    (its header only: nothing is decoded, so Pillow's size guard is lifted here; ``read_image`` applies ours);
    None when Pillow does not recognise it."""
    try:
        with warnings.catch_warnings(), _pillow_bomb_limit(1 << 62), Image.open(io.BytesIO(data)) as im:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            fmt = im.format
    except Exception:  # Pillow raises many types on garbage (UnidentifiedImageError, SyntaxError, ...)
        return None
    names = [ext for ext, f in Image.registered_extensions().items() if f == fmt and ext in SUFFIXES]
    return min(names, key=len) if names else None


_ARRAY_DEPTHS = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}


def read_array(a: np.ndarray, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """An image held in memory, (H, W) or (H, W, C) with C 1-4, as ``read_image`` gives a file: float32 pixels in
    [0, 1] and a bit depth. uint8 is 8 bits and uint16 16; floats (or booleans) must lie in [0, 1] and are stored
    at 8 bits. Anything else is one ``InputError``, so a caller's mistake (a (C, H, W) tensor, values in 0..255 as
    floats) is named rather than fitted."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or not 1 <= a.shape[2] <= 4 or min(a.shape[:2]) < 1:
        hint = "; a (C, H, W) tensor? move its channels last" if a.ndim == 3 and 1 <= a.shape[0] <= 4 else ""
        raise InputError(f"an array image is (H, W) or (H, W, C) with C 1-4, got shape {tuple(a.shape)}{hint}")
    h, w = a.shape[:2]
    if h * w > max_pixels:
        raise InputError(f"the array is {w}x{h}; inrzip accepts up to {max_pixels} pixels ({Limits.hint('max_pixels')})")
    if a.dtype in _ARRAY_DEPTHS:
        depth = _ARRAY_DEPTHS[a.dtype]
        return (a.astype(np.float32) / np.float32((1 << depth) - 1)), depth
    if a.dtype.kind not in "fb":
        raise InputError(f"an array image is uint8, uint16, or floats in [0, 1]; got {a.dtype}")
    pixels = a.astype(np.float32)
    if not np.isfinite(pixels).all():
        raise InputError("the array holds NaN or infinite values; give finite pixels")
    if pixels.min(initial=0.0) < 0.0 or pixels.max(initial=0.0) > 1.0:
        raise InputError(f"float pixels must lie in [0, 1], got {pixels.min():g}..{pixels.max():g} (divide 0..255 "
                         "values by 255, or pass uint8)")
    return pixels, 8


_PILLOW_LOCK = threading.Lock()


@contextlib.contextmanager
def _pillow_bomb_limit(max_pixels: int) -> Iterator[None]:
    """Pillow refuses images over 2x its ``MAX_IMAGE_PIXELS`` (179 MP) on its own; a user who raised
    ``--max-pixels`` past that gets Pillow's limit raised too, while this read runs."""
    default = Image.MAX_IMAGE_PIXELS
    if default is None or max_pixels <= 2 * default:
        yield
        return
    with _PILLOW_LOCK:
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = default


def reason(exc: Exception) -> str:
    """One short line about why a reader failed."""
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _select_frame(im: Image.Image, path: Path, frame: int | None) -> Image.Image:
    """The frame to compress: a still image is itself; an animated one (GIF, APNG, WebP, multi-page TIFF)
    needs ``frame``; a multi-picture JPEG (MPO, phone cameras) is its primary picture unless ``frame`` says."""
    animated = bool(getattr(im, "is_animated", False))
    if frame is None:
        if animated and im.format != "MPO":
            raise InputError(f"{path}: an animated image (more than one frame); inrzip compresses one still image: "
                             "choose one with --frame N (0 = the first)")
        return im
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise InputError(f"frame {frame!r} is invalid; give --frame N with N >= 0")
    try:
        im.seek(frame)
    except EOFError:
        raise InputError(f"{path}: has no frame {frame} (frames count from 0)") from None
    return im


# EXIF orientation (tag 0x0112) -> the transpose that shows the image upright (as ImageOps.exif_transpose)
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}


def _upright(im: Image.Image) -> Image.Image:
    """The image as a viewer displays it: its EXIF orientation applied."""
    method = _orientation(im)
    return im.transpose(method) if method is not None else im


def _orientation(im: Image.Image) -> Image.Transpose | None:
    """The transpose that shows ``im`` upright, by its EXIF orientation; unreadable EXIF counts as none."""
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not stop the pixels being read
        orientation = 1
    return _ORIENTATION.get(orientation) if isinstance(orientation, int) else None


def _wide_colour(im: Image.Image, path: Path, frame: int | None) -> np.ndarray | None:
    """The (H, W, C) uint16 samples of a 16-bit colour PNG (RGB, RGBA, gray + alpha; its first frame) or TIFF (the
    page chosen), which Pillow would decode at 8 bits; None for any other image. PNG is decoded by imagecodecs
    (libpng), TIFF by tifffile, whose page must be the size Pillow read from the header (checked before decoding)."""
    if im.mode not in ("RGB", "RGBA"):  # Pillow opens a 16-bit gray + alpha PNG as RGBA
        return None
    if im.format == "PNG" and frame in (None, 0):
        if not any(";16" in _rawmode(t.args) for t in im.tile):
            return None
        import imagecodecs

        a = imagecodecs.png_decode(Path(path).read_bytes())
    elif im.format == "TIFF" and max(im.tag_v2.get(258, (8,)), default=8) == 16:
        a = _tiff_page(path, frame or 0, im.size)
    else:
        return None
    a = a[..., None] if a.ndim == 2 else a
    if a.dtype != np.uint16 or a.shape[0] * a.shape[1] != im.size[0] * im.size[1] or not 2 <= a.shape[2] <= 4:
        raise InputError(f"{path}: cannot read image (its 16-bit samples decode to {a.dtype} {tuple(a.shape)}, "
                         f"not {im.size[0]}x{im.size[1]} pixels)")
    return a


def _rawmode(args: object) -> str:
    """The raw mode in a Pillow tile's decoder arguments (a string, or a tuple starting with one)."""
    if isinstance(args, str):
        return args
    return args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else ""


def _tiff_page(path: Path, page: int, size: tuple[int, int]) -> np.ndarray:
    """Page ``page`` of a TIFF as (H, W, C) samples, its size checked against ``size`` before it is decoded."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        p = tif.pages[page]
        if p.imagewidth * p.imagelength != size[0] * size[1]:  # Pillow swaps the sides of a turned TIFF
            raise InputError(f"{path}: cannot read image (page {page} is {p.imagewidth}x{p.imagelength}, Pillow "
                             f"read {size[0]}x{size[1]})")
        a = p.asarray()
        return np.moveaxis(a, 0, -1) if p.planarconfig == 2 and a.ndim == 3 else a


def _stored_orientation(im: Image.Image) -> Image.Transpose | None:
    """The transpose that shows the raster as stored upright (``_upright_array``): a TIFF's tag as the file has it
    (read before Pillow loads, and so transposes, it); a PNG's from its eXIf chunk, which Pillow finds on loading."""
    if im.format != "TIFF":
        im.load()
    return _orientation(im)


def _upright_array(a: np.ndarray, method: Image.Transpose | None) -> np.ndarray:
    """(H, W, C) uint16 samples turned by ``method`` and scaled to float32 in [0, 1]: Pillow transposes each channel
    (a 16-bit grayscale image), so the orientation is exactly the 8-bit path's."""
    if method is not None:
        a = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(a[..., k])).transpose(method))
                      for k in range(a.shape[2])], axis=-1)
    return a.astype(np.float32) / np.float32(65535.0)


def _to_array(im: Image.Image) -> tuple[np.ndarray, int]:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if not np.isfinite(a).all():
            return a.astype(np.float32)[..., None], 16  # refused by the caller
        if mode == "F" or a.max(initial=0) > 255 or mode.startswith("I;16"):
            return (np.clip(a, 0, 65535) / 65535.0).astype(np.float32)[..., None], 16
        return (np.clip(a, 0, 255) / 255.0).astype(np.float32)[..., None], 8
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    a = np.asarray(im, dtype=np.float32) / 255.0
    return (a[..., None] if a.ndim == 2 else a), 8


_CHANNELS = {1: "grayscale", 2: "grayscale + alpha", 3: "RGB", 4: "RGBA"}
# What is written and read back exactly (checked for every format and kind: tests/test_image_codec.py): 16 bits per
# sample, by channel count (grayscale by Pillow; colour by imagecodecs as PNG and tifffile as TIFF, since Pillow
# holds no 16-bit colour; Pillow cannot open a 16-bit gray + alpha TIFF), and an alpha channel (BMP, PPM and GIF
# drop it; JPEG refuses it)
HOLDS_16 = {1: frozenset({"png", "tif", "tiff", "ppm", "pgm"}), 2: frozenset({"png"}),
            3: frozenset({"png", "tif", "tiff"}), 4: frozenset({"png", "tif", "tiff"})}
HOLDS_ALPHA = frozenset({"png", "tif", "tiff", "tga", "webp"})


def _article(kind: str) -> str:
    """'an' before "8-bit ...", 'a' before "16-bit ..."."""
    return "an" if kind.startswith("8") else "a"


def write_pixels(output: np.ndarray, target: Path | io.BytesIO, fmt: str) -> None:
    """``output`` (H, W, C integers) written as ``fmt``: by Pillow, or 16-bit colour by ``_write_wide``. An alpha
    channel the format would drop is refused; 16 bits go to 8 (rounded) where the format holds no more, which
    Pillow would otherwise clip to white. What a writer refuses is one line naming the image's kind (never
    the temporary file the CLI writes to)."""
    c, wide = output.shape[2], output.dtype == np.uint16
    kind = f"{'16' if wide else '8'}-bit {_CHANNELS.get(c, f'{c}-channel')} image"
    if c in (2, 4) and fmt not in HOLDS_ALPHA:
        raise InputError(f"{_article(kind)} {kind} has an alpha channel that .{fmt} would drop; write "
                         f"{', '.join('.' + f for f in sorted(HOLDS_ALPHA))} or .npy")
    arr = np.ascontiguousarray(output[..., 0] if c == 1 else output)  # Pillow infers L / I;16 / LA / RGB / RGBA
    if wide and fmt not in HOLDS_16.get(c, ()):
        arr, wide = np.rint(arr / 257.0).astype(np.uint8), False  # 65535 / 255 = 257: the nearest 8-bit level
    try:
        if wide and c > 1:
            _write_wide(arr, target, fmt)
            return
        Image.fromarray(arr).save(target, format=Image.registered_extensions()[f".{fmt}"])
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"cannot write {_article(kind)} {kind} as .{fmt} ({reason(exc)}); use .png") from None


def _write_wide(arr: np.ndarray, target: Path | io.BytesIO, fmt: str) -> None:
    """16-bit colour (H, W, C uint16), which Pillow cannot hold: PNG by imagecodecs (libpng), TIFF by tifffile
    (RGB, alpha as an unassociated extra sample), both read back exactly by ``read_image``."""
    if fmt == "png":
        import imagecodecs

        data = imagecodecs.png_encode(arr)
        if isinstance(target, io.BytesIO):
            target.write(data)
        else:
            Path(target).write_bytes(data)
        return
    import tifffile

    tifffile.imwrite(target, arr, photometric="rgb", extrasamples=["unassalpha"] if arr.shape[2] == 4 else None)
