"""Compressing to a target rate: where ``--bpp`` lands and how it compares with classical codecs at that rate.

    python benchmarks/rate_target.py --images kodim03,kodim15,kodim23 --bpp 0.3 --time-budget 300 \
        --out results/rate_target

For each image and target rate: ``encode(..., bpp=B)`` with the defaults (and ``--time-budget``), the rate
the file hit, its decoded PSNR, and JPEG / WebP / JPEG 2000 interpolated at that same rate (each codec swept
over its qualities on the same image; PSNR interpolated linearly in bpp between its two nearest points).
``--half`` box-downscales each image 2x first (a quicker check). Writes ``rate_target.json`` and
``rate_target.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rd_compare import source  # noqa: E402

from inrzip.api import CompressConfig, FitConfig, encode  # noqa: E402
from inrzip.bench.codecs import available_codecs, sweep_codec  # noqa: E402

CODECS = ("jpeg", "webp", "jpeg2000")


def codec_at(name: str, rgb: np.ndarray, bpp: float) -> float:
    """The codec's PSNR interpolated at ``bpp`` (NaN outside its range of rates)."""
    pts = sorted((p["bpp"], p["psnr"]) for p in sweep_codec(name, rgb))
    rates, psnrs = zip(*pts)
    return float(np.interp(bpp, rates, psnrs, left=np.nan, right=np.nan))


def one(path: Path, bpp: float, a: argparse.Namespace) -> dict:
    signal = source(path, a.half)
    fit = FitConfig(progress=False, threads=a.threads, time_budget=a.time_budget,
                    **({"epochs": a.epochs} if a.epochs else {}))
    t0 = time.perf_counter()
    kind = {"auto": {}, "mlp": {"parameterization": "mlp", "pe": True}, "doh": {"parameterization": "doh"}}[a.kind]
    enc = encode(signal, CompressConfig(bpp=bpp, fit=fit, **kind))
    seconds = time.perf_counter() - t0
    r = enc.report
    rgb = np.clip(np.rint(signal.reference() * (255 / (2 ** signal.depth - 1))), 0, 255).astype(np.uint8)
    rgb = np.repeat(rgb[..., :1], 3, axis=2) if rgb.shape[2] < 3 else rgb[..., :3]
    row = {"image": path.stem, "target": bpp, "kind": r["config"]["parameterization"], "bpp": r["bpp"],
           "psnr": r["psnr"], "ssim": r["ssim"],
           "bits": r["bits"], "clip_k": r.get("clip_k"), "arch": r.get("planned_arch"),
           "latent": r.get("planned_latent"), "epochs": r["epochs"], "seconds": seconds}
    for name in available_codecs(list(CODECS)):
        row[name] = codec_at(name, rgb, r["bpp"])
    return row


def table(rows: list[dict]) -> str:
    codecs = [c for c in CODECS if any(c in r for r in rows)]
    head = "| image | target bpp | hit bpp | inrzip PSNR dB | " + " | ".join(f"{c} @ hit" for c in codecs) + \
        " | bits / clip k | network | epochs | s |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['image']} | {r['target']} | {r['bpp']:.4f} | {r['psnr']:.2f} | "
                     + " | ".join(f"{r.get(c, float('nan')):.2f}" for c in codecs)
                     + f" | {r['bits']} / {r['clip_k'] or 0:.2f} | {r.get('kind', '')} {r['arch']}"
                       + (f" latent {r['latent']}" if r['latent'] else "") + f" | {r['epochs']} "
                       f"| {r['seconds']:.0f} |")
    for target in sorted({r["target"] for r in rows}):
        sel = [r for r in rows if r["target"] == target]
        gaps = {c: float(np.nanmean([r["psnr"] - r[c] for r in sel if c in r])) for c in codecs}
        lines.append("")
        lines.append(f"target {target} bpp: mean hit {np.mean([r['bpp'] for r in sel]):.4f} bpp, mean PSNR "
                     f"{np.mean([r['psnr'] for r in sel]):.2f} dB; inrzip minus codec: "
                     + ", ".join(f"{c} {g:+.2f} dB" for c, g in gaps.items()))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default="kodim03,kodim15,kodim23")
    ap.add_argument("--bpp", default="0.3", help="comma list of target rates")
    ap.add_argument("--time-budget", type=float, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--half", action="store_true")
    ap.add_argument("--kind", choices=("auto", "mlp", "doh"), default="auto",
                    help="auto: what --bpp picks by the rate; mlp: MLP with PE; doh: D'OH")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("results/rate_target"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for stem in a.images.split(","):
        for bpp in (float(b) for b in a.bpp.split(",")):
            rows.append(one(a.data / f"{stem}.png", bpp, a))
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}),
                  flush=True)
    (a.out / "rate_target.json").write_text(json.dumps({"settings": {k: str(v) for k, v in vars(a).items()},
                                                       "rows": rows}, indent=1))
    (a.out / "rate_target.md").write_text(table(rows))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
