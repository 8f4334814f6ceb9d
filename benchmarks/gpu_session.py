"""The CUDA checks of docs/benchmarks.md ("GPU session"), in one run on one machine.

1. A full 2000-epoch Kodak fit (28x9, mlp and doh; float32, and bfloat16 hidden GEMMs with ``--precisions
   fp32,bf16``) on the GPU, timed, written as .inr files.
2. Each file decoded on the CPU and on the GPU: PSNR difference and largest pixel difference.
3. K models in one pass (``fit_many``) against K sequential ``fit`` calls, same epochs and batches.

    python benchmarks/gpu_session.py --image kodim23.png --out results/gpu

Prints a markdown report and writes it, with the files, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import inrzip
from inrzip.api import CompressConfig, FitConfig, prepare
from inrzip.fit import fit, fit_many
from inrzip.metrics import psnr
from inrzip.signals import load_signal

DEVICE = "cuda"  # --device cpu: a smoke run of this script without a GPU


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def full_fits(image: Path, out: Path, epochs: int, batch: int, engine: str, precisions: list[str]) -> list[str]:
    """2000-epoch fits on CUDA; decode each file on CPU and CUDA and compare."""
    lines = ["| parameterization | precision | epochs | batch | fit s | PSNR (file, CPU decode) | PSNR (CUDA decode) "
             "| max abs pixel diff | bpp |", "|---|---|---|---|---|---|---|---|---|"]
    truth = np.asarray(Image.open(image).convert("RGB")) / 255.0
    for param, precision in [(p, q) for p in ("mlp", "doh") for q in precisions]:
        fit_cfg = FitConfig(epochs=epochs, batch_size=batch, device=DEVICE, progress=False, engine=engine,
                            precision=precision)
        enc = inrzip.encode(image, CompressConfig(arch="28x9", parameterization=param, latent_ratio=0.6, bits=8, fit=fit_cfg))
        enc.save(out / f"kodim23_{param}_28x9_8bit_{precision}_gpu.inr")
        cpu = inrzip.decompress(enc.data, device="cpu")
        gpu = inrzip.decompress(enc.data, device=DEVICE)
        p_cpu, p_gpu = psnr(cpu / 255.0, truth), psnr(gpu / 255.0, truth)
        diff = int(np.abs(cpu.astype(int) - gpu.astype(int)).max())
        r = enc.report
        lines.append(f"| {param} | {precision} | {r['epochs']} | {batch} | {r['fit_seconds']:.1f} | {p_cpu:.3f} | {p_gpu:.3f} | {diff} | {r['bpp']:.3f} |")
        print(lines[-1], flush=True)
    return lines


def many(image: Path, k: int, epochs: int, batch: int, engine: str) -> list[str]:
    """K seeds of one architecture: one fit_many pass vs K sequential fits (same batches per model)."""
    signal = load_signal(image)
    lines = ["| K | arch | epochs | batch | K sequential fits s | fit_many s | speed-up |", "|---|---|---|---|---|---|---|"]
    for arch in ("20x4", "28x9"):
        cfgs = [CompressConfig(arch=arch, parameterization="mlp", fit=FitConfig(seed=s)) for s in range(k)]
        spec = prepare(signal, cfgs[0]).spec
        net = lambda c: prepare(signal, c).param  # noqa: E731
        fcfg = FitConfig(epochs=epochs, batch_size=batch, device=DEVICE, progress=False, engine=engine)
        fit(signal, spec, net(cfgs[0]), FitConfig(epochs=1, batch_size=batch, device=DEVICE,
                                                  progress=False, engine=engine))  # warm-up
        sync()
        t0 = time.perf_counter()
        for c in cfgs:
            fit(signal, spec, net(c), fcfg)
        sync()
        seq = time.perf_counter() - t0
        params = [net(c) for c in cfgs]
        fit_many(signal, spec, [net(c) for c in cfgs[:2]], replace(fcfg, epochs=1))  # warm-up
        sync()
        t0 = time.perf_counter()
        fit_many(signal, spec, params, fcfg)
        sync()
        bat = time.perf_counter() - t0
        lines.append(f"| {k} | {arch} | {epochs} | {batch} | {seq:.2f} | {bat:.2f} | {seq / bat:.1f}x |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("results/gpu"))
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=65536)
    ap.add_argument("--engine", default="fast")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--k-epochs", type=int, default=3)
    ap.add_argument("--k-batch-size", type=int, default=8192)
    ap.add_argument("--precisions", default="fp32", help="e.g. fp32,bf16: the full fits at each")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    global DEVICE
    DEVICE = a.device
    name = torch.cuda.get_device_name(0) if a.device == "cuda" else "CPU"
    head = [f"# GPU session: {name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}", ""]
    print("\n".join(head), flush=True)
    lines = head + full_fits(a.image, a.out, a.epochs, a.batch_size, a.engine, a.precisions.split(",")) + [""]
    lines += many(a.image, a.k, a.k_epochs, a.k_batch_size, a.engine)
    (a.out / "gpu_session.md").write_text("\n".join(lines) + "\n")
    (a.out / "gpu_session.json").write_text(json.dumps({"device": name, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
