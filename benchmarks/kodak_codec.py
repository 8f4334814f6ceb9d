"""Kodak: PSNR / bpp of mlp and doh files, and real file size vs BZIP2(pickle) vs params x bits.

One fit per (image, parameterization) gives every bit depth (post-training quantization).

    python benchmarks/kodak_codec.py --data ../shared/data --images kodim23 --epochs 300 \
        --out docs/results/kodak_codec.csv
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

import torch

from inrzip.api import CompressConfig, FitConfig, encode_bits

CONFIGS = {  # name -> CompressConfig overrides
    "doh-28x9-0.6": dict(arch="28x9", parameterization="doh", latent_ratio=0.6),
    "mlp-28x9": dict(arch="28x9", parameterization="mlp"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--images", default="kodim23")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--bits", default="4,5,6,8,16")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=8192)
    ap.add_argument("--out", default="docs/results/kodak_codec.csv")
    a = ap.parse_args()
    bits = [int(b) for b in a.bits.split(",")]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for img in a.images.split(","):
        for name in a.configs.split(","):
            cfg = CompressConfig(**CONFIGS[name], fit=FitConfig(epochs=a.epochs, batch_size=a.batch_size, progress=False))
            t0 = time.perf_counter()
            for enc in encode_bits(Path(a.data) / "kodak" / f"{img}.png", cfg, bits):
                r = enc.report
                rows.append({"image": img, "config": name, "bits": r["bits"], "epochs": r["epochs"],
                             "psnr": round(r["psnr"], 3), "ssim": round(r["ssim"], 4),
                             "float_psnr": round(r["float_psnr"], 3), "bpp": round(r["bpp"], 4),
                             "estimated_bpp": round(r["estimated_bpp"], 4), "file_bytes": r["file_bytes"],
                             "estimated_bytes": r["estimated_bytes"], "bzip2_pickle_bytes": r["bzip2_pickle_bytes"],
                             "fit_seconds": round(r["fit_seconds"], 1)})
                print(rows[-1], flush=True)
            print(f"{img} {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out} ({platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
