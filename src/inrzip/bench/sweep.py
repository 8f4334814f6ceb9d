"""Sweep definitions (TOML) -> a flat list of pure, hashable tasks.

A sweep file has four tables (see ``sweeps/*.toml``)::

    [sweep]    images = "kodim*.png" (glob or list of names), limit = N, crop = [top, left, h, w]
    [fit]      settings shared by every method; any list value is a swept axis, except ``bits``,
               which lists the bit depths written from ONE fit (post-training quantization;
               with ``qat = true`` each depth is its own fit, trained for that depth)
    [[method]] name = "doh", parameterization = "doh", ...: overrides of [fit] (lists swept too)
    [codecs]   jpeg = [] (the codec's default qualities) or jpeg = [10, 50, 90]

Keys of [fit]/[[method]] are ``CompressConfig`` / ``FitConfig`` field names (``inrzip.config``).
A task is keyed by sha256(sha256(image file bytes) + canonical config JSON): the same image and
settings always give the same key, wherever the folder lives, so reruns skip finished work.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import tomllib

from ..errors import InputError

__all__ = ["Task", "canonical", "image_digest", "list_images", "load_sweep", "fit_tasks", "codec_tasks",
           "sweep_tasks", "FIT_KEYS"]

_NOT_AXES = {"bits"}  # list-valued keys that are not swept
_RUNTIME_ONLY = {"device", "progress", "qat_quantizer", "qat_bits"}  # set by the runner, never part of a key


def canonical(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces): equal configs give equal text, hence equal keys."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class Task:
    """One unit of work: a fit (many bit depths) or one codec encode. Picklable, hashable, pure data.

    ``config`` is canonical JSON holding ``kind`` (which executor runs it), ``method`` and every
    setting; ``path`` only says where to read the image and is not part of the key."""

    image: str  # image name (file stem), what results group by
    path: str
    image_sha256: str
    config: str

    @cached_property
    def params(self) -> dict[str, Any]:
        return json.loads(self.config)

    @property
    def kind(self) -> str:
        return self.params["kind"]

    @property
    def method(self) -> str:
        return self.params["method"]

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.image_sha256}\n{self.config}".encode()).hexdigest()


def _fit_keys() -> set[str]:
    from ..config import CompressConfig, FitConfig

    top = {f.name for f in fields(CompressConfig)} - {"fit"}
    return (top | {f.name for f in fields(FitConfig)}) - _RUNTIME_ONLY


FIT_KEYS = _fit_keys()


def image_digest(path: str | Path) -> str:
    """sha256 of the file's bytes: identical content gives identical keys under any name."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def list_images(folder: str | Path, images: str | list[str] = "*.png", limit: int | None = None) -> list[Path]:
    """Images of ``folder`` (or a single file) matching a glob or a list of names, sorted, at most ``limit``."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give the folder holding the images (e.g. ../shared/data/kodak)")
    if isinstance(images, str):
        paths = sorted(folder.glob(images))
    else:
        paths = [folder / n for n in images]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise InputError(f"{folder}: missing images {missing}; fix the sweep's [sweep].images list")
    paths = [p for p in paths if p.is_file()][:limit]
    if not paths:
        raise InputError(f"{folder}: no images match {images!r}")
    return paths


def _crop_config(crop: list[int] | None) -> dict[str, Any]:
    if crop is None:
        return {}
    if len(crop) != 4 or any(not isinstance(v, int) or v < 0 for v in crop) or crop[2] < 1 or crop[3] < 1:
        raise InputError(f"crop {crop!r}: write [top, left, height, width] in pixels")
    return {"crop": list(crop)}


def _grid(settings: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every combination of the list-valued settings (sorted key order, so expansion is deterministic)."""
    axes = sorted(k for k, v in settings.items() if isinstance(v, list) and k not in _NOT_AXES)
    for combo in itertools.product(*(settings[k] for k in axes)):
        yield {**settings, **dict(zip(axes, combo))}


def _check_method(name: str, settings: dict[str, Any]) -> None:
    unknown = set(settings) - FIT_KEYS
    if unknown:
        raise InputError(f"method {name!r}: unknown settings {sorted(unknown)}; valid: {', '.join(sorted(FIT_KEYS))}")
    bits = settings.get("bits")
    if not isinstance(bits, list) or not bits or not all(isinstance(b, int) and 1 <= b <= 16 for b in bits):
        raise InputError(f"method {name!r}: bits must be a non-empty list of integers 1..16, e.g. [4, 8]")


def fit_tasks(paths: list[Path], methods: list[dict[str, Any]], fit: dict[str, Any] | None = None,
              crop: list[int] | None = None) -> list[Task]:
    """Images x methods x every swept axis; one task per fit, which writes every bit depth."""
    digests = _digests(paths)
    tasks = []
    for method in methods:
        method = dict(method)
        name = method.pop("name", None)
        if not isinstance(name, str) or not name:
            raise InputError("every [[method]] needs a name, e.g. name = \"doh\"")
        settings = {**(fit or {}), **method}
        _check_method(name, settings)
        for point in _grid(settings):
            bits = sorted(set(point["bits"]))
            # post-training quantization: one fit gives every depth; QAT trains for one depth per fit
            for group in ([[b] for b in bits] if point.get("qat") else [bits]):
                config = {"kind": "fit", "method": name, **point, "bits": group, **_crop_config(crop)}
                tasks += [Task(p.stem, str(p.resolve()), digests[p], canonical(config)) for p in paths]
    return tasks


_DIGEST_CACHE: dict[tuple[str, float, int], str] = {}


def _digests(paths: list[Path]) -> dict[Path, str]:
    """Image hashes, cached per (path, mtime, size) so big sweeps hash each image once."""
    out = {}
    for p in paths:
        st = p.stat()
        k = (str(p.resolve()), st.st_mtime, st.st_size)
        if k not in _DIGEST_CACHE:
            _DIGEST_CACHE[k] = image_digest(p)
        out[p] = _DIGEST_CACHE[k]
    return out


def codec_tasks(paths: list[Path], codecs: dict[str, list[float]], crop: list[int] | None = None) -> list[Task]:
    """One task per (image, codec, quality); an empty quality list means the codec's default sweep."""
    from .codecs import CODECS, available_codecs

    digests = _digests(paths)
    tasks = []
    for name in available_codecs(list(codecs)):
        qualities = codecs[name] or list(CODECS[name].qualities)
        for q in qualities:
            config = {"kind": "codec", "method": name, "quality": q, "settings": CODECS[name].settings(),
                      **_crop_config(crop)}
            tasks += [Task(p.stem, str(p.resolve()), digests[p], canonical(config)) for p in paths]
    return tasks


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Parse and check a sweep file; InputError naming the problem."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such sweep file (see sweeps/*.toml for examples)") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (a sweep is TOML, in UTF-8)") from None
    except OSError as exc:  # a folder, no permission
        raise InputError(f"{path}: cannot read the sweep file ({exc.strerror or exc})") from None
    unknown = set(doc) - {"sweep", "fit", "method", "codecs"}
    if unknown:
        raise InputError(f"{path}: unknown tables {sorted(unknown)}; use [sweep], [fit], [[method]], [codecs]")
    if not doc.get("method") and not doc.get("codecs"):
        raise InputError(f"{path}: nothing to run; add at least one [[method]] or a [codecs] table")
    return doc


def sweep_tasks(doc: dict[str, Any], folder: str | Path) -> list[Task]:
    """All tasks of a parsed sweep over the images in ``folder``."""
    s = doc.get("sweep", {})
    paths = list_images(folder, s.get("images", "*.png"), s.get("limit"))
    crop = s.get("crop")
    return (fit_tasks(paths, doc.get("method", []), doc.get("fit", {}), crop)
            + codec_tasks(paths, doc.get("codecs", {}), crop))
