"""Rate-distortion of settings against each other on the same images: BD-rate / BD-PSNR per image and mean.

    python benchmarks/rd_compare.py --variants pe_band=full pe_band=nyquist --bits 5,6,7,8 --epochs 300 \
        --images kodim03,kodim06,kodim09,kodim12,kodim15,kodim18,kodim21,kodim24 --out results/rd_compare

Each variant is a set of ``CompressConfig`` / ``FitConfig`` overrides (``key=value``, several joined by ``,``).
One fit per image and variant writes every bit depth (post-training quantization); each point is the decoded
file's PSNR and its real size. The first variant is the anchor; BD-rate is computed per image over the
quality range both curves share, then averaged. Writes ``rd_compare.json`` (settings and every point) and
``rd_compare.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.api import CompressConfig, FitConfig, encode_bits  # noqa: E402
from inrzip.bench.bdrate import bd_psnr, bd_rate  # noqa: E402
from inrzip.errors import InputError  # noqa: E402
from inrzip.signals.image import ImageSignal, read_image  # noqa: E402

KODAK_SUBSET = "kodim03,kodim06,kodim09,kodim12,kodim15,kodim18,kodim21,kodim24"
FIT_FIELDS = set(FitConfig.__dataclass_fields__)


def parse_variant(text: str) -> dict[str, object]:
    """'pe_band=full,lr=1e-3' -> {'pe_band': 'full', 'lr': 0.001} (numbers and booleans parsed)."""
    out: dict[str, object] = {}
    for part in filter(None, text.split(",")):
        key, _, raw = part.partition("=")
        value: object = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                pass
        out[key] = {"true": True, "false": False}.get(raw.lower(), value) if isinstance(value, str) else value
    return out


def source(path: Path, half: bool) -> ImageSignal:
    """The image, or its 2x2 box downscale (a quarter of the pixels: a quicker check of the same question)."""
    pixels, depth = read_image(path)
    if half:
        h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
        pixels = pixels[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3), dtype=np.float64)
        pixels = (np.rint(pixels * 255) / 255).astype(np.float32)  # an 8-bit image, as a photo would be
    return ImageSignal(np.ascontiguousarray(pixels), depth)


def config(variant: dict[str, object], args: argparse.Namespace) -> CompressConfig:
    fit = {k: v for k, v in variant.items() if k in FIT_FIELDS}
    top = {k: v for k, v in variant.items() if k not in FIT_FIELDS}
    base = {"progress": False, "threads": args.threads}
    if args.epochs:
        base["epochs"] = args.epochs
    if args.time_budget:
        base["time_budget"] = args.time_budget
    return CompressConfig(**top, fit=FitConfig(**{**base, **fit}))


def table(points: dict[str, dict[str, list[dict]]], names: list[str]) -> tuple[str, dict]:
    anchor = names[0]
    lines = [f"anchor: {anchor}", "", "| image | variant | BD-rate % | BD-PSNR dB | points (bpp, PSNR) |",
             "|---|---|---|---|---|"]
    summary: dict[str, dict[str, list[float]]] = {n: {"bd_rate": [], "bd_psnr": []} for n in names[1:]}
    for image, by_variant in points.items():
        a = by_variant.get(anchor, [])
        for name in names[1:]:
            b = by_variant.get(name, [])
            try:
                rate = bd_rate([p["bpp"] for p in a], [p["psnr"] for p in a], [p["bpp"] for p in b],
                               [p["psnr"] for p in b])
                dpsnr = bd_psnr([p["bpp"] for p in a], [p["psnr"] for p in a], [p["bpp"] for p in b],
                                [p["psnr"] for p in b])
            except InputError:
                rate = dpsnr = float("nan")
            summary[name]["bd_rate"].append(rate)
            summary[name]["bd_psnr"].append(dpsnr)
            pts = " ".join(f"({p['bpp']:.3f}, {p['psnr']:.2f})" for p in b)
            lines.append(f"| {image} | {name} | {rate:+.2f} | {dpsnr:+.3f} | {pts} |")
    lines += ["", "| variant | mean BD-rate % | mean BD-PSNR dB | images |", "|---|---|---|---|"]
    for name, s in summary.items():
        r, p = np.array(s["bd_rate"]), np.array(s["bd_psnr"])
        ok = np.isfinite(r)
        lines.append(f"| {name} | {r[ok].mean() if ok.any() else float('nan'):+.2f} | "
                     f"{p[ok].mean() if ok.any() else float('nan'):+.3f} | {int(ok.sum())} |")
    return "\n".join(lines) + "\n", summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default=KODAK_SUBSET)
    ap.add_argument("--variants", nargs="+", required=True, help="key=value[,key=value] per variant; first = anchor")
    ap.add_argument("--bits", default="5,6,7,8")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--time-budget", type=float)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--half", action="store_true", help="box-downscale every image 2x first")
    ap.add_argument("--out", type=Path, default=Path("results/rd_compare"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    bits = [int(b) for b in a.bits.split(",")]
    points: dict[str, dict[str, list[dict]]] = {}
    for stem in a.images.split(","):
        for name in a.variants:
            t0 = time.perf_counter()
            encs = encode_bits(source(a.data / f"{stem}.png", a.half), config(parse_variant(name), a), bits)
            points.setdefault(stem, {})[name] = [
                {"bits": e.report["bits"], "bpp": e.report["bpp"], "psnr": e.report["psnr"],
                 "float_psnr": e.report["float_psnr"], "epochs": e.report["epochs"]} for e in encs]
            print(f"{stem} {name}: {time.perf_counter() - t0:.0f} s "
                  + " ".join(f"{e.report['bits']}b {e.report['bpp']:.3f}/{e.report['psnr']:.2f}" for e in encs),
                  flush=True)
            text, summary = table(points, a.variants)
            (a.out / "rd_compare.md").write_text(text)
            (a.out / "rd_compare.json").write_text(json.dumps(
                {"argv": sys.argv[1:], "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
                 "points": points, "summary": summary}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
