"""bf16 mixed precision against float32: PSNR and time of the same fit on image crops (docs/fitting-speed.md).

    .venv/bin/python benchmarks/precision.py --threads 2

Each crop is fitted twice from the same initial weights and batches, with ``precision`` fp32 and bf16
(hidden-to-hidden GEMMs in bfloat16), engine ``fast``; PSNR is the float network's on the crop.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.config import FitConfig  # noqa: E402
from inrzip.fit import fit  # noqa: E402
from inrzip.nets.networks import NetworkSpec, forward, parse_arch  # noqa: E402
from inrzip.nets.parameterizations import MLP  # noqa: E402
from inrzip.signals.image import ImageSignal  # noqa: E402

KODAK = ROOT.parent / "shared" / "data" / "kodak"
CROPS = {"kodim23": (200, 300), "kodim05": (100, 100)}  # top, left of a --size square


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--arch", default="28x9")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    width, hidden = parse_arch(a.arch)
    spec = NetworkSpec(2, 3, width, hidden)
    print("| crop | fp32 PSNR | bf16 PSNR | fp32 s | bf16 s |\n|---|---|---|---|---|")
    for name, (top, left) in CROPS.items():
        rgb = np.asarray(Image.open(KODAK / f"{name}.png").convert("RGB"), dtype=np.float32) / 255.0
        signal = ImageSignal(np.ascontiguousarray(rgb[top:top + a.size, left:left + a.size]))
        psnr, secs = {}, {}
        for precision in ("fp32", "bf16"):
            param = MLP(spec, seed=0)
            t0 = time.perf_counter()
            fit(signal, spec, param, FitConfig(epochs=a.epochs, batch_size=a.batch_size, progress=False, engine="fast",
                                               precision=precision, threads=a.threads, device=a.device))
            secs[precision] = time.perf_counter() - t0
            layers = [(w.detach(), b.detach()) for w, b in param.layers()]
            psnr[precision] = signal.evaluate(lambda x: forward(spec, layers, x), device=a.device)["psnr"]
        print(f"| {name} [{top}:{top + a.size}, {left}:{left + a.size}] | {psnr['fp32']:.2f} | {psnr['bf16']:.2f} "
              f"| {secs['fp32']:.1f} | {secs['bf16']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
