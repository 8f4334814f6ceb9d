"""What a benchmark task does: the executors (a codec point, a fit written at several bit depths) and the
units of work that fit several sweep points in one pass (``bench --together``).

Executors are plain functions ``Task -> list[Result]`` in a registry, so the Ray backend (``ray_backend``)
calls the same ``run_unit`` remotely; ``fit_encodings`` and ``run_unit`` are the only calls into ``inrzip.api``
(``encode_bits`` for one fit, ``encode_many`` for several in one pass). Each row carries its encoded file
(``Result.file``) back to the coordinator, which stores it beside the row for ``inrzip report``.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any, Callable

import numpy as np

from .db import Result
from .sweep import Task

__all__ = ["EXECUTORS", "Executor", "register_executor", "versions", "compress_config", "fit_encodings", "run_task",
           "make_units", "run_unit", "source_png", "crop_key"]

Executor = Callable[[Task, str], list[Result]]
EXECUTORS: dict[str, Executor] = {}


def register_executor(kind: str) -> Callable[[Executor], Executor]:
    """Decorator: ``fn(task, device) -> rows`` runs tasks whose config has this ``kind``."""
    def deco(fn: Executor) -> Executor:
        EXECUTORS[kind] = fn
        return fn
    return deco


def versions(extra: dict[str, str] | None = None) -> str:
    """JSON of the library versions that can change a number, stored with every row."""
    names = ("inrzip", "torch", "numpy", "pillow", "scikit-image", "constriction")
    out = dict(extra or {})
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "unknown"
    if out["inrzip"] == "unknown":
        from ..version import __version__

        out["inrzip"] = __version__
    return json.dumps(out, sort_keys=True)


def _crop(pixels: np.ndarray, task: Task) -> np.ndarray:
    crop = task.params.get("crop")
    if crop:
        top, left, h, w = crop
        pixels = pixels[top:top + h, left:left + w]
    return np.ascontiguousarray(pixels)


def _pixels(task: Task) -> np.ndarray:
    """The task's image as (H, W, 3) uint8 for a classical codec, cropped if the config says so."""
    from .codecs import load_rgb

    return _crop(load_rgb(task.path), task)


def crop_key(params: dict[str, Any]) -> str:
    """How the ``sources`` table names a task's crop: canonical JSON of ``crop``, "" for the whole image."""
    from .sweep import canonical

    return canonical(params["crop"]) if params.get("crop") else ""


def source_png(task: Task) -> bytes:
    """The picture the task encodes (cropped, 8-bit RGB) as a lossless PNG: the report's original."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_pixels(task), "RGB").save(buf, "PNG", optimize=True)
    return buf.getvalue()


@register_executor("codec")
def run_codec(task: Task, device: str) -> list[Result]:
    """One real encode + decode of a classical codec at one quality."""
    from .codecs import encode_point, get_codec

    codec = get_codec(task.method)
    point = encode_point(codec, _pixels(task), task.params["quality"])
    return [Result(task.key, 0, task.image, task.method, task.config, point["psnr"], point["ssim"],
                   point["bytes"], None, point["bpp"], point["seconds"], "cpu", versions(codec.versions()),
                   file=point["data"], file_format=task.method)]


def compress_config(params: dict[str, Any], device: str) -> Any:
    """A sweep task's settings as the core API's ``CompressConfig``."""
    from dataclasses import fields

    from ..config import CompressConfig, FitConfig

    top = {f.name for f in fields(CompressConfig)}
    sub = {f.name for f in fields(FitConfig)}
    fit = FitConfig(**{k: v for k, v in params.items() if k in sub}, device=device, progress=False)
    cfg = {k: v for k, v in params.items() if k in top and k not in ("fit", "bits")}
    return CompressConfig(**cfg, bits=max(params["bits"]), fit=fit)


def _signal(task: Task) -> Any:
    """The task's (cropped) image as the core's image signal, read as ``inrzip compress`` reads it."""
    from pathlib import Path

    from ..signals.image import ImageSignal, read_image

    pixels, depth = read_image(Path(task.path))
    return ImageSignal(_crop(pixels, task), depth)


def fit_encodings(task: Task, device: str) -> list[Any]:
    """One fit of the task's image, one ``Encoded`` file per bit depth."""
    from ..api import encode_bits

    return encode_bits(_signal(task), compress_config(task.params, device), task.params["bits"])


def _device_name(device: str) -> str:
    """The device as resolved ("auto" -> cuda/cpu), with the GPU model, so timings can be compared."""
    import torch

    from ..fit.runtime import resolve_device

    dev = resolve_device(device)
    return f"cuda:{torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else "cpu"


@register_executor("fit")
def run_fit(task: Task, device: str) -> list[Result]:
    """Rows of one fit: quality of the decoded real file, its bytes, and the params x bits estimate."""
    return _fit_rows(task, fit_encodings(task, device), device)


def _fit_rows(task: Task, encodings: list[Any], device: str) -> list[Result]:
    vers, where = versions(), _device_name(device)
    rows = []
    for enc in encodings:
        r = enc.report
        rows.append(Result(task.key, int(r["bits"]), task.image, task.method, task.config, r["psnr"], r.get("ssim"),
                           int(r["file_bytes"]), float(r["estimated_bytes"]), float(r["bpp"]),
                           float(r["fit_seconds"]), where, vers, file=enc.data, file_format="inr"))
    return rows


def run_task(task: Task, device: str = "cpu") -> list[Result]:
    """Run one task in this process (what each pool worker does)."""
    return EXECUTORS[task.kind](task, device)


# Sweep settings that may differ between the models of one pass (``fit_many``). Fit tasks equal in all
# the others (crop, architecture, parameterization, epochs, batch size, seed, engine...) can share one, on
# one image or on several images of one size.
_PER_MODEL = ("method", "bits", "lr", "betas", "gamma", "warmup_epochs", "loss", "qat", "quantizer", "qat_refresh",
              "qat_start", "latent_ratio", "latent_dim", "doh_init")


def _group_key(task: Task) -> str:
    if task.kind != "fit":
        return task.key
    return json.dumps({k: v for k, v in task.params.items() if k not in _PER_MODEL}, sort_keys=True)


def make_units(tasks: list[Task], together: int = 1) -> list[list[Task]]:
    """Tasks in units of work: alone, or up to ``together`` fit tasks that can share one pass."""
    if together <= 1:
        return [[t] for t in tasks]
    groups: dict[str, list[Task]] = {}
    for t in tasks:
        groups.setdefault(_group_key(t), []).append(t)
    return [g[i:i + together] for g in groups.values() for i in range(0, len(g), together)]


def run_unit(unit: list[Task], device: str = "cpu") -> list[list[Result]]:
    """Rows per task of a unit: one task as ``run_task``; several fit tasks in one pass per network and
    image size."""
    if len(unit) == 1:
        return [run_task(unit[0], device)]
    from ..api import encode_bits, encode_many, prepare
    from ..fit import SHARED_SETTINGS

    images: dict[str, Any] = {}  # each image read once
    for t in unit:
        if t.image_sha256 not in images:
            images[t.image_sha256] = _signal(t)
    signals = [images[t.image_sha256] for t in unit]
    cfgs = [compress_config(t.params, device) for t in unit]
    passes: dict[tuple, list[int]] = {}  # one image size, network and shared settings (defaults resolved)
    for i, (s, c) in enumerate(zip(signals, cfgs)):
        prep = prepare(s, c)  # cheap: D'OH's B is generated when the fit starts
        key = (s.pixels.shape, prep.spec, *[repr(getattr(prep.config.fit, n)) for n in SHARED_SETTINGS])
        passes.setdefault(key, []).append(i)
    rows: list[list[Result]] = [[] for _ in unit]
    for idx in passes.values():
        if len(idx) == 1:  # a fit of its own, on the image already read
            i = idx[0]
            encodings = [encode_bits(signals[i], cfgs[i], unit[i].params["bits"])]
        else:
            encodings = encode_many([signals[i] for i in idx], [cfgs[i] for i in idx],
                                    [unit[i].params["bits"] for i in idx])
        for i, encs in zip(idx, encodings):
            rows[i] = _fit_rows(unit[i], encs, device)
    return rows
