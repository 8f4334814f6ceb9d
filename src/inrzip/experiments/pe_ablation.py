"""D'OH supplement Fig. 3a: does positional encoding help an image MLP at 8 and at 16 bits?

    python -m inrzip.experiments pe-ablation        # 4 Kodak images, 28x9 MLP: no PE / inrzip's PE / the paper's PE

One fit per (image, variant), written at 8 and 16 bits (minmax, post-training). Variants: ``mlp`` (no PE),
``mlp+pe`` (inrzip's default encoding: octave frequencies folded to the pixel grid's Nyquist rate) and
``mlp+pe-octave`` (the paper's: sin/cos(2^k pi x), k < 10, unfolded). ``pe-ablation_diff.csv`` has, per image,
the PSNR and rate of each PE variant minus the plain MLP's, and the loss from float to 8 bits of each.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from .image_common import Budget, Protocol, fit_protocol
from .quant_common import mean_rows, save_figure, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["IMAGES", "VARIANTS", "run", "differences"]

IMAGES = ("kodim03", "kodim12", "kodim21", "kodim23")
VARIANTS = ("mlp", "mlp+pe", "mlp+pe-octave")
Row = dict[str, Any]


def differences(rows: Sequence[Row]) -> list[Row]:
    """Per image, bit depth and PE variant: PSNR, bpp and float-to-quantized loss relative to the plain MLP."""
    key = {(r["image"], r["method"], r["bits"]): r for r in rows}
    out = []
    for (image, method, bits), r in key.items():
        base = key.get((image, "mlp", bits))
        if method == "mlp" or base is None:
            continue
        out.append({"image": image, "variant": method, "bits": bits, "psnr_gain": r["psnr"] - base["psnr"],
                    "float_gain": r["float_psnr"] - base["float_psnr"], "bpp_ratio": r["bpp"] / base["bpp"],
                    "quant_loss": r["float_psnr"] - r["psnr"], "quant_loss_mlp": base["float_psnr"] - base["psnr"]})
    return out


def _plot(rows: Sequence[Row], diffs: Sequence[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    means = mean_rows(rows, ("method", "bits"), ("psnr", "bpp"))
    for m in dict.fromkeys(r["method"] for r in means):
        pts = sorted((r for r in means if r["method"] == m), key=lambda r: r["bits"])
        a.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], "o-", label=m)
        for p in pts:
            a.annotate(f"{p['bits']}b", (p["bpp"], p["psnr"]), fontsize=7)
    a.set_xlabel("bpp (real file)")
    a.set_ylabel("mean PSNR dB")
    a.legend(fontsize=8)
    a.grid(alpha=0.3)
    images = list(dict.fromkeys(d["image"] for d in diffs))
    bars = list(dict.fromkeys((d["variant"], d["bits"]) for d in diffs))
    width = 0.8 / max(len(bars), 1)
    for j, (v, bits) in enumerate(bars):
        ys = [next((d["psnr_gain"] for d in diffs if d["image"] == im and d["variant"] == v and d["bits"] == bits),
                   0.0) for im in images]
        b.bar([i + j * width for i in range(len(images))], ys, width, label=f"{v} {bits}b")
    b.set_xticks([i + 0.4 - width / 2 for i in range(len(images))], images, fontsize=7)
    b.axhline(0, color="k", lw=0.5)
    b.set_ylabel("PSNR with PE - without (dB)")
    if bars:  # the plain MLP's rows come first: until a PE variant is in, there are no bars yet
        b.legend(fontsize=7)
    save_figure(fig, path)


def run(images: Sequence[str], arch: str, bits: Sequence[int], budget: Budget, out: Path, log=print,
        variants: Sequence[str] = VARIANTS, jobs: int = 1) -> list[Row]:
    """One fit per (image, variant), ``jobs`` at a time; the tables and the plot are rewritten after every fit."""
    p = Protocol("kodak", tuple(images), (arch,), tuple(variants), tuple(bits), budget)
    config = {"experiment": "pe-ablation", "images": list(images), "arch": arch, "bits": list(bits),
              "variants": list(variants), "budget": asdict(budget), "machine": machine()}

    def save(rows: list[Row]) -> None:
        diffs = differences(rows)
        write_rows(rows, out / "pe-ablation.csv", config)
        write_rows(diffs, out / "pe-ablation_diff.csv")
        _plot(rows, diffs, out / "pe-ablation.png")

    return fit_protocol(p, save, log, jobs)


@experiment("pe-ablation", "D'OH supp. Fig. 3a: image MLP with / without PE (ours and the paper's) at 8 vs 16 bits")
def run_cli(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    budget = Budget(epochs=2, seconds=None, crop=24) if quick else Budget(epochs=300, seconds=30.0)
    p = ArgParser(prog="python -m inrzip.experiments pe-ablation")
    p.add_argument("--images", nargs="+", default=list(IMAGES[:1] if quick else IMAGES))
    p.add_argument("--arch", default="8x2" if quick else "28x9")
    p.add_argument("--bits", nargs="+", type=int, default=[8, 16])
    p.add_argument("--seconds", type=float, default=budget.seconds, help="per fit; 0 = no time limit")
    p.add_argument("--preset", choices=["paper"], help="the supplement's recipe (2000 epochs, lr 2e-4, batch 1024, "
                                                       "LR x0.999 per epoch) instead of inrzip's defaults")
    p.add_argument("--epochs", type=int, help="epoch cap (default: 300, or the preset's)")
    p.add_argument("--crop", type=int, default=budget.crop, help="centre crop side in pixels (default: whole image)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--jobs", type=int, default=1, help="fits at a time, each in its own process at one thread")
    a = p.parse_args(list(argv))
    epochs = a.epochs or (None if a.preset else budget.epochs)
    budget = Budget(epochs, a.seconds or None, a.crop, preset=a.preset)
    return run(a.images, a.arch, a.bits, budget, out, log=lambda m: print(m, flush=True), variants=a.variants,
               jobs=a.jobs)
