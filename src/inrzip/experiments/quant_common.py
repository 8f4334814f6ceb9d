"""Shared pieces of the quantization study (seed 000): data, budgets, one fit -> many files, CSV/plots.

The study fits once and writes the network with *several quantizers and bit depths*, and continues fits
with QAT. Every file goes through ``inrzip.api.write``, the one "encode, decode, score" path, so every number
is measured on the decoded bytes of a real ``.inr`` file, as a user would get it.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..api import CompressConfig, Fitted, field_of, train, write
from ..config import FitConfig
from ..errors import InputError
from ..fit import fit, resolve_fit
from ..signals.image import ImageSignal, read_image

__all__ = ["DATA_ROOT", "DIV2K_NAMES", "Budget", "BUDGETS", "Fitted", "load_images", "fit_network", "continue_fit",
           "file_row", "write_rows", "mean_rows", "QUANTIZER_ORDER", "save_figure"]

DATA_ROOT = Path(__file__).resolve().parents[4] / "shared" / "data"  # repo root's sibling, as in the tests
QUANTIZER_ORDER = ("minmax", "explicit", "distributional", "kmeans")
Row = dict[str, Any]


@dataclass(frozen=True)
class Budget:
    """How much data and training an experiment uses. ``default`` fits on 2 busy CPU cores in minutes;
    ``paper`` uses all data at the D'OH supplement's Table 1 image budget (seed 000 gives none)."""

    cifar_images: int  # first N of the 20 CIFAR-10 test images
    div2k_images: int  # first N of the DIV2K validation images (0801, 0829, 0845)
    div2k_crop: int | None  # centre crop side in pixels; None = the whole ~512x340 image
    epochs: int
    batch_size: int
    lr: float
    bits: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    div2k_pick: tuple[str, ...] = ()  # these DIV2K images instead of the first N (a paper run split by image)


DIV2K_NAMES = ("0801", "0829", "0845")
BUDGETS: dict[str, Budget] = {
    "default": Budget(cifar_images=4, div2k_images=1, div2k_crop=64, epochs=500, batch_size=1024, lr=1e-3),
    "paper": Budget(cifar_images=20, div2k_images=3, div2k_crop=None, epochs=2000, batch_size=1024, lr=1e-3),
}


def load_images(dataset: str, budget: Budget, root: Path = DATA_ROOT) -> list[tuple[str, ImageSignal]]:
    """(name, signal) pairs: CIFAR-10 test images, or centre crops of the downscaled DIV2K images."""
    if dataset == "cifar":
        paths = sorted((root / "cifar10" / "foolbox_cifar10_test_first20").glob("cifar10_*.png"))
        paths = paths[: budget.cifar_images]
    elif dataset == "div2k":
        unknown = sorted(set(budget.div2k_pick) - set(DIV2K_NAMES))
        if unknown:
            raise InputError(f"unknown DIV2K image {unknown[0]!r}; choose from {', '.join(DIV2K_NAMES)}")
        names = budget.div2k_pick or DIV2K_NAMES[: budget.div2k_images]
        paths = [root / "div2k" / "downscaled_smiler96" / f"{n}.png" for n in names]
    else:
        raise InputError(f"unknown dataset {dataset!r}; choose cifar or div2k")
    missing = [p for p in paths if not p.is_file()]
    if not paths or missing:
        raise InputError(f"no {dataset} images under {root} (missing {missing[:1]}); check ../shared/data")
    out = []
    for p in paths:
        pixels, depth = read_image(p)
        if dataset == "div2k" and budget.div2k_crop:
            pixels = _centre_crop(pixels, budget.div2k_crop)
        out.append((p.stem, ImageSignal(np.ascontiguousarray(pixels), depth)))
    return out


def _centre_crop(pixels: np.ndarray, side: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    if side > min(h, w):
        raise InputError(f"crop {side} is larger than the {w}x{h} image; choose a smaller crop")
    top, left = (h - side) // 2, (w - side) // 2
    return pixels[top:top + side, left:left + side]


def fit_config(budget: Budget, **overrides: Any) -> FitConfig:
    """The study's FitConfig: quiet, one thread, the 'fast' engine (no compile on short fits)."""
    base = FitConfig(epochs=budget.epochs, batch_size=budget.batch_size, lr=budget.lr, progress=False,
                     engine="fast", threads=1)
    return replace(base, **overrides)


def fit_network(signal: ImageSignal, arch: str, activation: str, cfg: FitConfig, seed: int = 0) -> Fitted:
    """Fit a plain MLP (the paper quantizes every weight and bias of a SIREN / ReLU / Gaussian MLP)."""
    request = CompressConfig(arch=arch, parameterization="mlp", activation=activation, pe=False, residual=False,
                             fit=replace(cfg, seed=seed))  # the weights themselves are what the study quantizes
    return train(signal, request)


def continue_fit(f: Fitted, cfg: FitConfig, score: bool = True) -> Fitted:
    """Train an already fitted network further (e.g. QAT after a float warm-up); histories are joined.
    ``score=False`` skips measuring the float network (a NeRF evaluation renders every held-out view)."""
    done, spent = f.result.epochs, f.result.seconds
    resolved = resolve_fit(cfg, f.signal, f.param)
    more = fit(f.signal, f.spec, f.param, resolved)
    more.history = f.result.history + [(e + done, loss, s + spent) for e, loss, s in more.history]
    more.epochs, more.seconds = more.epochs + done, more.seconds + spent
    f.param.cpu()
    return replace(f, result=more, config=replace(f.config, fit=resolved),
                   float_metrics=f.signal.evaluate(field_of(f.spec, f.param.layers())) if score else {})


def file_row(f: Fitted, quantizer: str, bits: int, qat_tables: bool = True) -> Row:
    """Write ``f`` as an .inr file with ``quantizer`` at ``bits``, decode it, and measure everything; with
    ``qat_tables`` a QAT-trained network keeps the tables training saw (docs/quantizers.md)."""
    enc = write(f, bits, quantizer, qat_tables=qat_tables)
    r, sizes = enc.report, enc.sizes
    return {
        "quantizer": quantizer, "bits": bits, "psnr": r["psnr"], "ssim": r["ssim"],
        "float_psnr": f.float_metrics["psnr"], "float_ssim": f.float_metrics["ssim"],
        "params": r["target_params"], "file_bytes": sizes.file_bytes, "header_bytes": sizes.header_bytes,
        "code_bytes": sizes.code_bytes, "side_bytes": sizes.side_bytes,
        "dictionary_bytes": sum(p["side_bytes"] for p in sizes.per_tensor.values()),
        "estimated_bytes": sizes.estimated_bytes, "bpp": r["bpp"],
        "fit_seconds": round(f.result.seconds, 2), "epochs": f.result.epochs,
    }


def write_rows(rows: Sequence[Row], path: Path, config: dict[str, Any] | None = None) -> None:
    """CSV of ``rows`` (union of keys, first-seen order), plus the run's config as JSON beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows({k: _fmt(r.get(k, "")) for k in keys} for r in rows)
    if config is not None:
        path.with_suffix(".json").write_text(json.dumps(config, indent=1, default=_json_default) + "\n")


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v


def _json_default(v: Any) -> Any:
    return asdict(v) if hasattr(v, "__dataclass_fields__") else str(v)


def mean_rows(rows: Iterable[Row], keys: Sequence[str], values: Sequence[str]) -> list[Row]:
    """Mean of ``values`` per distinct ``keys`` (over images), in first-seen order; adds ``n``."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, rs in groups.items():
        row = dict(zip(keys, key))
        for v in values:
            xs = [float(r[v]) for r in rs if r.get(v) not in (None, "") and math.isfinite(float(r[v]))]
            row[v] = float(np.mean(xs)) if xs else float("nan")
        row["n"] = len(rs)
        out.append(row)
    return out


def save_figure(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)

