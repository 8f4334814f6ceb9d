"""Learning-rate sweep behind the fitting defaults (docs/fitting.md).

Fits 256x256 crops of Kodak images with mlp and doh at several learning rates, LR decays, batch sizes
and warm-ups, and records the PSNR of the float network every few epochs. Writes a CSV and a
convergence plot.

    python benchmarks/lr_sweep.py --data ../shared/data --out docs/img --epochs 300
    python benchmarks/lr_sweep.py --runs doh:2e-5:0.995:16384:0 --images kodim05   # one setting
    python benchmarks/lr_sweep.py --replot run1.log run2.log --images kodim05       # CSV + plot from logs
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inrzip.api import CompressConfig, FitConfig, field_of, prepare
from inrzip.fit import fit
from inrzip.signals.image import ImageSignal

DOH_INIT = "doh"  # the sweep of docs/fitting.md ran the supplement's init; --doh-init siren for the default

Run = tuple[str, float, float, int, int]  # (parameterization, lr, gamma, batch size, warm-up epochs)

RUNS: list[Run] = [
    ("mlp", 2e-4, 0.999, 8192, 0), ("mlp", 5e-4, 0.999, 8192, 0), ("mlp", 2e-4, 0.995, 8192, 0),
    ("doh", 1e-5, 0.999, 8192, 0), ("doh", 2e-5, 0.999, 8192, 0), ("doh", 4e-5, 0.999, 8192, 0),
    ("doh", 4e-5, 0.993, 8192, 0), ("doh", 2e-5, 0.995, 8192, 0), ("doh", 2e-5, 0.995, 16384, 0),
    ("doh", 4e-5, 0.999, 8192, 20),
]


def parse_run(text: str) -> Run:
    """'doh:2e-5:0.995:16384:0' -> a run."""
    p, lr, gamma, batch, warm = text.split(":")
    return p, float(lr), float(gamma), int(batch), int(warm)


def label(run: Run) -> str:
    p, lr, gamma, batch, warm = run
    return f"{p} lr={lr:g} gamma={gamma:g} batch={batch} warmup={warm}"


def crop(path: Path, size: int = 256) -> ImageSignal:
    im = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    h, w, _ = im.shape
    y, x = (h - size) // 2, (w - size) // 2
    return ImageSignal(np.ascontiguousarray(im[y:y + size, x:x + size]))


def run(signal: ImageSignal, setting: Run, epochs: int, every: int) -> list[tuple[int, float, float]]:
    param_name, lr, gamma, batch, warmup = setting
    prep = prepare(signal, CompressConfig(arch="28x9", parameterization=param_name, latent_ratio=0.6,
                                          doh_init=DOH_INIT))
    spec, param = prep.spec, prep.param
    curve: list[tuple[int, float, float]] = []
    t0 = time.perf_counter()

    def on_epoch(epoch: int, loss: float) -> None:
        if epoch % every == 0 or epoch == 1:
            with torch.no_grad():
                m = signal.evaluate(field_of(spec, param.layers()))
            curve.append((epoch, m["psnr"], time.perf_counter() - t0))
            print(f"  {label(setting)} epoch {epoch}: {m['psnr']:.2f} dB", flush=True)

    fit(signal, spec, param, FitConfig(epochs=epochs, batch_size=batch, lr=lr, gamma=gamma, warmup_epochs=warmup,
                                       progress=False), on_epoch=on_epoch)
    return curve


def main() -> None:
    global DOH_INIT
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--images", default="kodim05,kodim23")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--doh-init", default=DOH_INIT, choices=["doh", "siren"])
    ap.add_argument("--runs", nargs="+", type=parse_run, default=RUNS, help="param:lr:gamma:batch:warmup ...")
    ap.add_argument("--replot", nargs="+", help="rebuild CSV and plot from progress logs of earlier (possibly cut) runs")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    DOH_INIT = a.doh_init
    if a.replot:
        write([r for log in a.replot for r in parse_log(Path(log), a.images)], out)
        return
    rows = []
    for name in a.images.split(","):
        signal = crop(Path(a.data) / "kodak" / f"{name}.png")
        for setting in a.runs:
            p, lr, gamma, batch, warm = setting
            for epoch, psnr, secs in run(signal, setting, a.epochs, a.every):
                rows.append({"image": name, "param": p, "lr": lr, "gamma": gamma, "batch": batch, "warmup": warm,
                             "epoch": epoch, "psnr": round(psnr, 3), "seconds": round(secs, 2)})
            print(f"{name} {label(setting)}: {rows[-1]['psnr']:.2f} dB after {rows[-1]['epoch']} epochs "
                  f"({rows[-1]['seconds']:.0f} s)", flush=True)
    write(rows, out)


def write(rows: list[dict], out: Path) -> None:
    with open(out / "lr_sweep.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, out / "lr_sweep.png")


def parse_log(path: Path, image: str) -> list[dict]:
    """Rows from progress lines '  doh lr=2e-05 gamma=0.995 batch=8192 warmup=0 epoch 50: 16.15 dB'
    (logs of the first version of this script lack gamma and batch: it ran 0.999 and 8192)."""
    import re

    pat = re.compile(r"^\s+(\w+) lr=([\d.e-]+)(?: gamma=([\d.]+) batch=(\d+))? warmup=(\d+) epoch (\d+): ([\d.]+) dB")
    rows = []
    for line in path.read_text().splitlines():
        m = pat.match(line)
        if m:
            rows.append({"image": image, "param": m[1], "lr": float(m[2]), "gamma": float(m[3] or 0.999),
                         "batch": int(m[4] or 8192), "warmup": int(m[5]), "epoch": int(m[6]), "psnr": float(m[7]),
                         "seconds": float("nan")})
    return rows


def _key(row: dict) -> Run:
    return row["param"], row["lr"], row["gamma"], row["batch"], row["warmup"]


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = sorted({r["image"] for r in rows})
    fig, axes = plt.subplots(1, len(images), figsize=(6 * len(images), 4.5), squeeze=False)
    for ax, img in zip(axes[0], images):
        keys = sorted({_key(r) for r in rows if r["image"] == img})
        for key in keys:
            pts = [(r["epoch"], r["psnr"]) for r in rows if r["image"] == img and _key(r) == key]
            ax.plot(*zip(*pts), ("-" if key[0] == "doh" else "--"), label=label(key))
        ax.set(title=f"{img} 256x256 crop, 28x9 (D'OH latent 0.6)", xlabel="epoch", ylabel="PSNR (dB, float network)",
               ylim=(8, None))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
