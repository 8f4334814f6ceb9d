"""Classical image codecs, run through their real encoders, as the baselines every RD plot needs.

Shaped like CompressAI's ``utils/bench`` ``Codec``: one small class per codec, registered by a
decorator, each with ``encode(rgb uint8 HxWx3, quality) -> bytes`` and ``decode(bytes) -> array``,
its own quality sweep, and ``available()`` so a machine without a plugin skips it with a message.
Rates always come from the real encoded byte count, never an estimate.

Settings are each library's defaults except where a stronger, still standard, setting exists:
WebP ``method=6``; JPEG 2000 the irreversible 9/7 wavelet as a raw codestream (no JP2 box);
HEIC 4:4:4 chroma (HEVC intra, our stand-in for BPG 4:4:4). JPEG and AVIF keep 4:2:0.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from ..errors import InputError

__all__ = ["Codec", "CODECS", "register_codec", "get_codec", "available_codecs", "rd_metrics", "encode_point",
           "sweep_codec", "load_rgb"]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


class Codec(ABC):
    """One classical codec. ``quality`` means whatever the encoder's own knob means (see each class)."""

    name: ClassVar[str]
    suffix: ClassVar[str]  # file name suffix of the bytes ``encode`` returns (the report's downloads)
    qualities: ClassVar[tuple[float, ...]]  # the default sweep, low rate to high rate
    library: ClassVar[str]  # the distribution whose version is recorded with results
    options: ClassVar[dict[str, Any]] = {}  # fixed encoder settings; part of every task key

    @classmethod
    def settings(cls) -> dict[str, Any]:
        """Everything besides ``quality`` that changes the bitstream, so changing it changes task keys."""
        return dict(cls.options)

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """True if the encoder and decoder exist on this machine."""

    @abstractmethod
    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        """Encode an (H, W, 3) uint8 image at ``quality``."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode to an (H, W, 3) uint8 image."""

    @classmethod
    def versions(cls) -> dict[str, str]:
        """The Python package and the native encoder library behind it (what actually makes the bytes)."""
        return {cls.library: _version(cls.library), f"{cls.name}-native": cls.native_version()}

    @classmethod
    def native_version(cls) -> str:
        feature = {"webp": "webp", "jpeg2000": "jpg_2000"}.get(cls.name)
        return str(features.version(feature)) if feature else "unknown"


CODECS: dict[str, type[Codec]] = {}


def register_codec(cls: type[Codec]) -> type[Codec]:
    """Class decorator adding a codec under ``cls.name``."""
    CODECS[cls.name] = cls
    return cls


def get_codec(name: str) -> Codec:
    """An instance of codec ``name``; InputError naming the fix if unknown or missing here."""
    cls = CODECS.get(name)
    if cls is None:
        raise InputError(f"unknown codec {name!r}; choose from {', '.join(sorted(CODECS))}")
    if not cls.available():
        raise InputError(f"codec {name!r} is not available on this machine; install the [bench] extra "
                         f"(pip install 'inrzip[bench]') or leave it out")
    return cls()


def available_codecs(names: list[str] | None = None) -> list[str]:
    """The requested (default: all) codecs present here; prints one line per codec skipped."""
    chosen = list(CODECS) if names is None else names
    out = []
    for name in chosen:
        if name not in CODECS:
            raise InputError(f"unknown codec {name!r}; choose from {', '.join(sorted(CODECS))}")
        if CODECS[name].available():
            out.append(name)
        else:
            print(f"inrzip: skipping codec {name!r}: not available on this machine (install the [bench] extra)")
    return out


def _pil_roundtrip_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _pil_encode(rgb: np.ndarray, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, fmt, **options)
    return buf.getvalue()


@register_codec
class JPEG(Codec):
    """Pillow / libjpeg, quality 1..95, default 4:2:0 subsampling and standard tables."""

    name = "jpeg"
    suffix = ".jpg"
    qualities = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
    library = "pillow"
    options = {"subsampling": "4:2:0"}

    @classmethod
    def available(cls) -> bool:
        return bool(features.check("jpg"))

    @classmethod
    def native_version(cls) -> str:
        if features.check_feature("libjpeg_turbo"):
            return f"libjpeg-turbo {features.version_feature('libjpeg_turbo')}"
        return f"libjpeg {features.version('jpg')}"

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        return _pil_encode(rgb, "JPEG", quality=int(quality), **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        return _pil_roundtrip_decode(data)


@register_codec
class WebP(Codec):
    """Pillow / libwebp lossy, quality 0..100, ``method=6`` (slowest, best compression)."""

    name = "webp"
    suffix = ".webp"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
    library = "pillow"
    options = {"method": 6}

    @classmethod
    def available(cls) -> bool:
        return bool(features.check("webp"))

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        return _pil_encode(rgb, "WEBP", quality=int(quality), **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        return _pil_roundtrip_decode(data)


@register_codec
class JPEG2000(Codec):
    """Pillow / OpenJPEG: irreversible 9/7 wavelet + colour transform (Pillow's default is none).

    ``quality`` is the compression ratio, so 24 / quality is the target bpp for 8-bit RGB."""

    name = "jpeg2000"
    suffix = ".j2k"
    qualities = (240, 160, 120, 80, 60, 48, 32, 24, 16, 12, 8)  # ~0.1 .. 3 bpp
    library = "pillow"
    options = {"quality_mode": "rates", "irreversible": True, "mct": 1, "no_jp2": True}

    @classmethod
    def available(cls) -> bool:
        return bool(features.check("jpg_2000"))

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        return _pil_encode(rgb, "JPEG2000", quality_layers=[float(quality)], **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        return _pil_roundtrip_decode(data)


@register_codec
class AVIF(Codec):
    """AV1 intra: Pillow's AVIF plugin (quality 0..100, speed 6) or, without it, imagecodecs' libavif."""

    name = "avif"
    suffix = ".avif"
    qualities = (10, 20, 30, 40, 50, 60, 70, 80, 90)
    library = "pillow"
    options = {"speed": 6}

    @classmethod
    def available(cls) -> bool:
        return bool(features.check_module("avif")) or _imagecodecs_has("AVIF")

    @classmethod
    def settings(cls) -> dict[str, Any]:
        return {**cls.options, "backend": "pillow" if features.check_module("avif") else "imagecodecs"}

    @classmethod
    def native_version(cls) -> str:
        if features.check_module("avif"):
            return f"libavif {features.version_module('avif')}"
        import imagecodecs

        return imagecodecs.avif_version()

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        if features.check_module("avif"):
            return _pil_encode(rgb, "AVIF", quality=int(quality), subsampling="4:2:0", **self.options)
        import imagecodecs

        return imagecodecs.avif_encode(rgb, level=int(quality), **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        if features.check_module("avif"):
            return _pil_roundtrip_decode(data)
        import imagecodecs

        return np.asarray(imagecodecs.avif_decode(data))[..., :3]


@register_codec
class HEIC(Codec):
    """HEVC intra in HEIF through pillow-heif (x265 / libde265), 4:4:4: our BPG stand-in. Quality 0..100."""

    name = "heic"
    suffix = ".heic"
    qualities = (5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 70)  # x265 is steep: 50 is ~1.8 bpp on kodim01
    library = "pillow-heif"
    options = {"chroma": 444}

    @classmethod
    def available(cls) -> bool:
        try:
            import pillow_heif
        except ImportError:
            return False
        info = pillow_heif.libheif_info()
        return bool(info.get("HEIF")) and bool(info.get("decoders"))

    @classmethod
    def native_version(cls) -> str:
        import pillow_heif

        info = pillow_heif.libheif_info()
        return f"libheif {info.get('libheif')}; {info.get('HEIF')}"

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        import pillow_heif

        buf = io.BytesIO()
        h, w, _ = rgb.shape
        pillow_heif.encode("RGB", (w, h), np.ascontiguousarray(rgb).tobytes(), buf,
                           quality=int(quality), **self.options)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        import pillow_heif

        return np.asarray(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True))[..., :3]


def _imagecodecs_has(codec: str) -> bool:
    try:
        import imagecodecs
    except ImportError:
        return False
    return bool(getattr(getattr(imagecodecs, codec, None), "available", False))


@register_codec
class JPEGXL(Codec):
    """libjxl through imagecodecs at effort 7 (libjxl's default); ``quality`` is libjxl's 0..100 quality.

    libjxl tunes for perceptual quality in its XYB colour space, not for RGB PSNR, so on PSNR it can
    trail codecs it beats perceptually; look at its SSIM curve too."""

    name = "jpegxl"
    suffix = ".jxl"
    qualities = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
    library = "imagecodecs"
    options = {"effort": 7}

    @classmethod
    def available(cls) -> bool:
        return _imagecodecs_has("JPEGXL")

    @classmethod
    def native_version(cls) -> str:
        import imagecodecs

        return imagecodecs.jpegxl_version()

    def encode(self, rgb: np.ndarray, quality: float) -> bytes:
        import imagecodecs

        return imagecodecs.jpegxl_encode(rgb, level=int(quality), **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        import imagecodecs

        return np.asarray(imagecodecs.jpegxl_decode(data))[..., :3]


def load_rgb(path: str) -> np.ndarray:
    """An image file as (H, W, 3) uint8, read like ``inrzip compress`` reads it (``read_image``: the same
    limits and errors), then made what classical codecs take: grey repeated, alpha dropped, 16 bits rounded."""
    from ..signals.image import read_image

    pixels, _ = read_image(Path(path))
    rgb = np.repeat(pixels[..., :1], 3, axis=2) if pixels.shape[2] < 3 else pixels[..., :3]
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def rd_metrics(ref: np.ndarray, rec: np.ndarray, nbytes: int) -> dict[str, float]:
    """bpp from the real byte count; PSNR and SSIM from ``inrzip.metrics``, the same definitions as fits use."""
    from ..metrics import psnr, ssim

    if rec.shape != ref.shape:
        raise ValueError(f"decoded shape {rec.shape} != source shape {ref.shape}")
    h, w = ref.shape[:2]
    a, b = ref.astype(np.float64) / 255.0, rec.astype(np.float64) / 255.0
    return {"bpp": nbytes * 8.0 / (h * w), "psnr": psnr(b, a), "ssim": ssim(b, a)}


def encode_point(codec: Codec, rgb: np.ndarray, quality: float) -> dict[str, Any]:
    """One real encode + decode of ``rgb`` at ``quality``: bytes, bpp, PSNR, SSIM, seconds, and the file (data)."""
    import time

    t0 = time.perf_counter()
    data = codec.encode(rgb, quality)
    seconds = time.perf_counter() - t0
    row = rd_metrics(rgb, codec.decode(data), len(data))
    return {"quality": quality, "bytes": len(data), **row, "seconds": seconds, "data": data}


def sweep_codec(name: str, rgb: np.ndarray, qualities: tuple[float, ...] | None = None) -> list[dict[str, Any]]:
    """Rows ``{codec, quality, bytes, bpp, psnr, ssim, seconds}`` of codec ``name`` on one image."""
    codec = get_codec(name)
    return [{"codec": name, **encode_point(codec, rgb, q)} for q in (qualities or codec.qualities)]
