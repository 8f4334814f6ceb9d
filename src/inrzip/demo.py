"""``make demo``: compress a Kodak photograph, decode it, and print what a user gets.

    python -m inrzip.demo --data ../shared/data [--image kodim23] [--bpp 0.105] [--time-budget 240]

The file is written at (at most) ``--bpp`` within ``--time-budget`` seconds of fitting: the rate control picks
the network for the rate (docs/rate.md); 0.105 bpp is the rate of the earlier demo (D'OH 28x9, latent 0.6,
8 bits, 150 epochs: 27.56 dB at 0.1051 bpp), so the two can be compared.

Writes ``out/demo/`` (the .inr file, the decoded PNG, a 2x decode) and prints PSNR, SSIM, bpp,
sizes and timings, next to JPEG at the nearest rate for scale.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .api import CompressConfig, FitConfig, decompress, encode
from .errors import InrzipError
from .metrics import psnr
from .signals.image import ImageSignal


def _jpeg_near(ref: np.ndarray, target_bytes: int) -> tuple[int, float, int]:
    """(quality, PSNR, bytes) of the JPEG whose size is closest to ``target_bytes``."""
    best = None
    for q in range(2, 96, 3):
        buf = io.BytesIO()
        Image.fromarray(ref).save(buf, format="JPEG", quality=q)
        n = buf.tell()
        if best is None or abs(n - target_bytes) < abs(best[2] - target_bytes):
            dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            best = (q, psnr(dec / 255.0, ref / 255.0), n)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--image", default="kodim23")
    ap.add_argument("--bpp", type=float, default=0.105, help="target rate, bits per pixel")
    ap.add_argument("--time-budget", type=float, default=240.0, help="seconds of fitting")
    ap.add_argument("--out", default="out/demo")
    a = ap.parse_args(argv)
    src = Path(a.data) / "kodak" / f"{a.image}.png"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        signal = ImageSignal.load(src)
        print(f"inrzip demo: {src} ({signal.w}x{signal.h}) at {a.bpp} bpp, {a.time_budget:.0f} s of fitting")
        enc = encode(signal, CompressConfig(bpp=a.bpp, fit=FitConfig(time_budget=a.time_budget)))
        enc.save(out / f"{a.image}.inr")
        t0 = time.perf_counter()
        image = decompress((out / f"{a.image}.inr").read_bytes())
        dec_s = time.perf_counter() - t0
        Image.fromarray(image).save(out / f"{a.image}_decoded.png")
        Image.fromarray(decompress(enc.data, scale=2)).save(out / f"{a.image}_decoded_2x.png")
    except InrzipError as exc:
        print(f"inrzip: error: {exc}", file=sys.stderr)
        return 2
    r = enc.report
    ref = signal.reference()
    check = psnr(image / 255.0, ref / 255.0)
    q, jpsnr, jbytes = _jpeg_near(ref, r["file_bytes"])
    print(f"\n{'':22}{'PSNR dB':>9}{'SSIM':>8}{'bpp':>8}{'bytes':>8}")
    print(f"{'inrzip (decoded file)':22}{r['psnr']:9.2f}{r['ssim']:8.4f}{r['bpp']:8.4f}{r['file_bytes']:8d}")
    print(f"{'JPEG q=' + str(q):22}{jpsnr:9.2f}{'':8}{8 * jbytes / ref.shape[0] / ref.shape[1]:8.4f}{jbytes:8d}")
    print(f"\nparams x bits estimate {r['estimated_bpp']:.4f} bpp; bzip2(pickle) of the same codes {r['bzip2_pickle_bytes']} B")
    kind = "D'OH" if r["config"]["parameterization"] == "doh" else "MLP" + (" + PE" if r["config"]["pe"] else "")
    print(f"network {kind} {r['planned_arch']}, {r['bits']} bits (chosen for the rate: docs/rate.md)")
    print(f"fit {r['fit_seconds']:.1f} s ({r['epochs']} epochs), decode {dec_s:.2f} s; re-decoded PSNR {check:.2f} dB")
    print(f"wrote {out}/{a.image}.inr, {a.image}_decoded.png, {a.image}_decoded_2x.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
