"""Learning-rate sweep behind the fitting defaults (docs/fitting.md).

Fits 256x256 crops of Kodak images with mlp and doh at several learning rates / warm-ups and
records the PSNR of the float network every few epochs. Writes a CSV and a convergence plot.

    python benchmarks/lr_sweep.py --data ../shared/data --out docs/img --epochs 300
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inrzip.api import CompressConfig, _spec, _parameterization
from inrzip.fitting import FitConfig, fit
from inrzip.networks import forward
from inrzip.signals.image import ImageSignal

RUNS = [  # (parameterization, lr, warmup epochs)
    ("mlp", 1e-4, 0), ("mlp", 2e-4, 0), ("mlp", 5e-4, 0),
    ("doh", 5e-6, 0), ("doh", 1e-5, 0), ("doh", 2e-5, 0), ("doh", 4e-5, 0), ("doh", 4e-5, 20), ("doh", 8e-5, 20),
]


def crop(path: Path, size: int = 256) -> ImageSignal:
    im = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    h, w, _ = im.shape
    y, x = (h - size) // 2, (w - size) // 2
    return ImageSignal(np.ascontiguousarray(im[y:y + size, x:x + size]))


def run(signal: ImageSignal, param_name: str, lr: float, warmup: int, epochs: int, every: int) -> list[tuple[int, float, float]]:
    cfg = CompressConfig(arch="28x9", parameterization=param_name, latent=0.6)
    spec = _spec(signal, cfg)
    param = _parameterization(spec, cfg)
    curve: list[tuple[int, float, float]] = []
    t0 = time.perf_counter()

    def on_epoch(epoch: int, loss: float) -> None:
        if epoch % every == 0 or epoch == 1:
            with torch.no_grad():
                layers = [(w.detach(), b.detach()) for w, b in param.layers()]
                m = signal.evaluate(lambda x: forward(spec, layers, x))
            curve.append((epoch, m["psnr"], time.perf_counter() - t0))

    fit(signal, spec, param, FitConfig(epochs=epochs, batch_size=8192, lr=lr, warmup_epochs=warmup, progress=False),
        on_epoch=on_epoch)
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--images", default="kodim05,kodim23")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--out", default="docs/img")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in a.images.split(","):
        signal = crop(Path(a.data) / "kodak" / f"{name}.png")
        for p, lr, warm in RUNS:
            for epoch, psnr, secs in run(signal, p, lr, warm, a.epochs, a.every):
                rows.append({"image": name, "param": p, "lr": lr, "warmup": warm, "epoch": epoch,
                             "psnr": round(psnr, 3), "seconds": round(secs, 2)})
            last = rows[-1]
            print(f"{name} {p} lr={lr:g} warmup={warm}: {last['psnr']:.2f} dB after {last['epoch']} epochs "
                  f"({last['seconds']:.0f} s)", flush=True)
    with open(out / "lr_sweep.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, out / "lr_sweep.png")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = sorted({r["image"] for r in rows})
    fig, axes = plt.subplots(1, len(images), figsize=(6 * len(images), 4.5), squeeze=False)
    for ax, img in zip(axes[0], images):
        keys = sorted({(r["param"], r["lr"], r["warmup"]) for r in rows if r["image"] == img})
        for p, lr, warm in keys:
            pts = [(r["epoch"], r["psnr"]) for r in rows if (r["image"], r["param"], r["lr"], r["warmup"]) == (img, p, lr, warm)]
            ax.plot(*zip(*pts), ("-" if p == "doh" else "--"), label=f"{p} lr={lr:g}" + (f" warm={warm}" if warm else ""))
        ax.set(title=f"{img} 256x256 crop, 28x9, batch 8192", xlabel="epoch", ylabel="PSNR (dB, float network)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
