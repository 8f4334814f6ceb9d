"""Residual coding against the meta-learned init: does storing ``theta - theta_init`` make better files?

    python benchmarks/init_residual.py --images kodim05,kodim15,kodim20,kodim23 --crop 256 --time-budget 30 \
        --bits 5,6,7,8,9 --out results/init-residual

One fit per image, started from ``--init`` (``compress --mlp --init NAME``), planned for ``--time-budget``
seconds. The fitted network is then written twice at each of ``--bits`` (distributional quantizer, the one
``--bpp`` uses): as its weights, and as offsets from the init (``--residual``: what
``nets.inits.apply_init(..., residual=True)`` makes; the network is the same). Both are real files, decoded.
Reported: bpp and PSNR of each, and BD-rate / BD-PSNR of the residual files against the plain ones per image.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from time_to_quality import load_crop  # noqa: E402

from inrzip.api import CompressConfig, FitConfig, train, write  # noqa: E402
from inrzip.bench.bdrate import bd_psnr, bd_rate  # noqa: E402
from inrzip.errors import InputError  # noqa: E402
from inrzip.nets.inits import available_inits, load_init  # noqa: E402


def one_image(path: Path, a: argparse.Namespace) -> list[dict]:
    """Rows (image, coding, bits, bpp, psnr) of one fit written both ways."""
    cfg = CompressConfig(arch=a.arch, parameterization="mlp", pe=False, init=a.init, quantizer="distributional",
                         fit=FitConfig(time_budget=a.time_budget, epochs=10 ** 6, progress=False, threads=1))
    fitted = train(load_crop(path, a.crop), cfg)
    rows = []
    for coding in ("weights", "residual"):
        if coding == "residual":
            fitted.param.offset_from(load_init(a.init, fitted.spec),
                                     {"res_init": a.init, "res_sha256": available_inits()[a.init].sha256})
        for bits in a.bits:
            r = write(fitted, bits).report
            rows.append({"image": path.stem, "coding": coding, "bits": bits, "bpp": r["bpp"], "psnr": r["psnr"],
                         "float_psnr": r["float_psnr"], "epochs": r["epochs"]})
    return rows


def _bd(*curves: list[float]) -> tuple[float, float]:
    """(BD-rate %, BD-PSNR dB) of the second curve against the first; NaN where they do not overlap."""
    out = []
    for fn in (bd_rate, bd_psnr):
        try:
            out.append(fn(*curves))
        except InputError:
            out.append(float("nan"))
    return out[0], out[1]


def summary(rows: list[dict], a: argparse.Namespace) -> str:
    lines = [f"MLP {a.arch} from init `{a.init}`, {a.crop}x{a.crop} crops, {a.time_budget:g} s fits; decoded files",
             "", "| image | bits | weights bpp | weights PSNR | residual bpp | residual PSNR |", "|---" * 6 + "|"]
    bd = []
    for image in dict.fromkeys(r["image"] for r in rows):
        w = [r for r in rows if r["image"] == image and r["coding"] == "weights"]
        res = [r for r in rows if r["image"] == image and r["coding"] == "residual"]
        for p, q in zip(w, res):
            lines.append(f"| {image} | {p['bits']} | {p['bpp']:.3f} | {p['psnr']:.2f} | {q['bpp']:.3f} | "
                         f"{q['psnr']:.2f} |")
        bd.append(_bd([r["bpp"] for r in w], [r["psnr"] for r in w], [r["bpp"] for r in res],
                      [r["psnr"] for r in res]))
    lines += ["", "residual against weights, per image: " + ", ".join(
        f"BD-rate {x:+.1f}% / BD-PSNR {y:+.2f} dB" for x, y in bd),
        f"mean BD-rate {np.nanmean([x for x, _ in bd]):+.1f}%, BD-PSNR {np.nanmean([y for _, y in bd]):+.2f} dB "
        "(nan: the two curves share no quality or no rate range)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default="kodim05,kodim15,kodim20,kodim23")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--arch", default="28x9")
    ap.add_argument("--time-budget", type=float, default=30.0)
    ap.add_argument("--bits", default="5,6,7,8,9")
    ap.add_argument("--init", default="siren-28x9-div2k")
    ap.add_argument("--out", type=Path, default=Path("results/init-residual"))
    a = ap.parse_args(argv)
    a.bits = [int(b) for b in a.bits.split(",")]
    torch.set_num_threads(1)
    rows: list[dict] = []
    for image in a.images.split(","):
        rows += one_image(a.data / f"{image}.png", a)
        print(json.dumps(rows[-1]), flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "init_residual.json").write_text(json.dumps({"argv": sys.argv[1:], "rows": rows}, indent=1))
    text = summary(rows, a)
    (a.out / "init_residual.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
